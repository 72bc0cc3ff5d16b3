/* config_reference — the directive reference, printed from the table: the
 * text of `lingerd -h`, docs/directives.md, lingerd.conf(5) and the
 * commented conf/lingerd.conf (`make docs` writes the files; unit tests
 * fail when they drift from the table).
 */
#include "config_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "main, server, location": where the row may be written, from its storage. */
static const char *config_scope_text(const struct config_directive *d)
{
    static const char *const text[8] = {
        "?", "location", "server", "server, location",
        "main", "main, location", "main, server", "main, server, location",
    };
    return text[(config_allowed_main(d) ? 4 : 0) | (config_allowed_server(d) ? 2 : 0) |
                (config_allowed_location(d) ? 1 : 0)];
}

static void config_synopsis(struct config_out *o, const struct config_directive *d)
{
    if (d->args)
        config_out_add(o, "%s", d->args);
    else if (config_types[d->type].synopsis)
        config_out_add(o, "%s", config_types[d->type].synopsis);
    else
        for (size_t i = 0; d->names[i]; i++)
            config_out_add(o, "%s%s", i ? "|" : "", d->names[i]);
}

static void config_bounds_text(struct config_out *o, const struct config_directive *d)
{
    switch (d->type) {
    case CONFIG_T_DURATION:
    case CONFIG_T_DURATION_OFF:
    case CONFIG_T_SIZE:
    case CONFIG_T_NUMBER:
    case CONFIG_T_MODE: config_format_bounds(o, d); break;
    case CONFIG_T_LISTEN:
        config_out_add(o, "port 1..65535, backlog=1..65535, at most %d", CONFIG_LISTEN_MAX);
        break;
    case CONFIG_T_PATTERN: config_out_add(o, "at most %d", CONFIG_PATTERN_MAX); break;
    case CONFIG_T_CIDRS: config_out_add(o, "at most %d", CONFIG_CIDR_MAX); break;
    case CONFIG_T_CERTS: config_out_add(o, "at most %d", CONFIG_TLS_CERT_MAX); break;
    case CONFIG_T_NAMES: config_out_add(o, "at most %d a block", CONFIG_SERVER_NAMES_MAX); break;
    case CONFIG_T_EXPIRES: config_format_bounds(o, d); break;
    default: config_out_add(o, "-"); break;
    }
}

/* What the reference shows of a row besides its name and help. */
struct config_row_text {
    char syn[128];    /* the arguments: config_synopsis */
    char bounds[64];  /* config_bounds_text; "-" when there are none */
};

static void config_row_text(const struct config_directive *d, struct config_row_text *t)
{
    struct config_out os = { t->syn, sizeof t->syn, 0, false };
    struct config_out ob = { t->bounds, sizeof t->bounds, 0, false };
    config_synopsis(&os, d);
    config_bounds_text(&ob, d);
}

/* Row i opens a group of the reference: the first row, or another group. */
static bool config_starts_group(size_t i)
{
    return i == 0 || strcmp(config_directives[i - 1].group, config_directives[i].group) != 0;
}

/* roff text: a backslash would start an escape, a leading '.' or '\'' a request. */
static void config_roff(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

static const char config_md_intro[] =
    "# lingerd.conf directives\n"
    "\n"
    "<!-- Generated from the directive table in src/conf/config_table.c by tools/gen_reference.c;\n"
    "     edit the table, then regenerate. tests/unit/test_config.c checks they match. -->\n"
    "\n"
    "The configuration file uses nginx's syntax. A directive is a name, its\n"
    "arguments and a `;`. `#` starts a comment that runs to the end of the line.\n"
    "An argument with spaces or `;{}#` goes in double quotes, where `\\\"` and\n"
    "`\\\\` are the only escapes (other backslashes are kept, so regexes read\n"
    "naturally).\n"
    "\n"
    "```\n"
    "listen 127.0.0.1:8080;\n"
    "root /srv/www;\n"
    "include conf.d/*.conf;        # relative to this file; patterns allowed\n"
    "\n"
    "location /upload/ {\n"
    "    methods GET HEAD PUT DELETE;\n"
    "    auth_basic \"uploads\";\n"
    "    auth_user_file /etc/lingerd/htpasswd;\n"
    "    body_max_bytes 1g;\n"
    "}\n"
    "```\n"
    "\n"
    "`location PREFIX { ... }` sets per-path policy. The longest prefix that\n"
    "matches the decoded request path wins; a `/` location always exists.\n"
    "`server { server_name NAME...; ... }` at the top level is a site chosen by\n"
    "the Host field, with its own locations (docs/sites.md). Each directive's\n"
    "*Context* says where it may be written: main (the top level), server,\n"
    "location. A value not set at a level is inherited from the level above:\n"
    "main, then server, then location. Locations do not nest, server blocks do\n"
    "not nest, and a directive may appear once per block unless it says it is\n"
    "repeatable.\n"
    "\n"
    "Units: durations take `ms`, `s`, `m`, `h` or `d` (`500ms`, `2s`, `1m`; a unit is\n"
    "required except for `0`). Sizes are bytes, or take `k`, `m`, `g` or `t`\n"
    "(powers of 1024: `8k`, `1m`). Booleans are `on` or `off`. Modes are octal.\n"
    "\n"
    "Every error is reported as `FILE:LINE: message`, and all of them are\n"
    "reported in one run.\n";

static void config_print_markdown(FILE *out)
{
    fputs(config_md_intro, out);
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        struct config_row_text t;

        config_row_text(d, &t);
        if (config_starts_group(i))
            fprintf(out, "\n## %s\n", d->group);
        fprintf(out, "\n### %s\n\n", d->name);
        fprintf(out, "    %s %s;\n\n", d->name, t.syn);
        fprintf(out, "- Type: %s%s\n", config_types[d->type].name,
                config_is_repeatable(d) ? ", repeatable" : "");
        if (d->def)
            fprintf(out, "- Default: `%s`\n", d->def);
        else
            fprintf(out, "- Default: none\n");
        if (strcmp(t.bounds, "-") != 0)
            fprintf(out, "- Bounds: %s\n", t.bounds);
        fprintf(out, "- Context: %s\n\n", config_scope_text(d));
        fprintf(out, "%s.\n", d->help);
    }
}

static void config_print_man(FILE *out)
{
    fputs(".\\\" Generated from the directive table in src/conf/config_table.c by tools/gen_reference.c.\n"
          ".TH LINGERD.CONF 5 \"\" \"lingerd\" \"File Formats\"\n"
          ".SH NAME\n"
          "lingerd.conf \\- configuration file of the lingerd HTTP/1.1 server\n"
          ".SH DESCRIPTION\n"
          "The file uses the syntax of nginx. A directive is a name, its arguments\n"
          "and a semicolon.\n"
          ".B #\n"
          "starts a comment that runs to the end of the line. An argument with\n"
          "spaces or\n"
          ".B ;{}#\n"
          "goes in double quotes, where \\e\" and \\e\\e are the only escapes.\n"
          ".PP\n"
          ".B location\n"
          ".I PREFIX\n"
          ".B { ... }\n"
          "sets per\\-path policy: the longest prefix that matches the decoded\n"
          "request path wins, and a / location always exists.\n"
          ".B server\n"
          ".B { server_name\n"
          ".IR NAME ...;\n"
          ".B ... }\n"
          "at the top level is a site chosen by the Host field, with its own\n"
          "locations. Each directive's context says where it may be written (main,\n"
          "server, location); a value not set at a level is inherited from the level\n"
          "above: main, then server, then location. Blocks of a kind do not nest.\n"
          ".PP\n"
          ".B include\n"
          ".IR PATH ;\n"
          "reads another file, relative to the including file; glob(7) patterns\n"
          "are allowed. Every error is reported as FILE:LINE: message, all in one run.\n"
          ".SS Units\n"
          "Durations take ms, s, m, h or d (500ms, 2s, 1m; a unit is required except\n"
          "for 0). Sizes are bytes, or take k, m, g or t (powers of 1024). Booleans\n"
          "are on or off. Modes are octal.\n"
          ".SH DIRECTIVES\n",
          out);
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        struct config_row_text t;

        config_row_text(d, &t);
        if (config_starts_group(i))
            fprintf(out, ".SS %s\n", d->group);
        fputs(".TP\n.B ", out);
        config_roff(out, d->name);
        fputs(" \\fI", out);
        config_roff(out, t.syn);
        fputs("\\fR\n", out);
        config_roff(out, d->help);
        fputs(".\n.br\nDefault: ", out);
        config_roff(out, d->def ? d->def : "none");
        if (strcmp(t.bounds, "-") != 0) {
            fputs("; bounds: ", out);
            config_roff(out, t.bounds);
        }
        fprintf(out, "; context: %s%s.\n", config_scope_text(d),
                config_is_repeatable(d) ? "; repeatable" : "");
    }
    fputs(".SH SEE ALSO\n"
          ".BR lingerd (8),\n"
          ".BR regex (7),\n"
          ".BR crypt (5)\n",
          out);
}

static void config_print_text(FILE *out)
{
    fputs("Directives (configuration file or command line; see lingerd.conf(5)):\n", out);
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        char syn[160];
        struct config_out os = { syn, sizeof syn, 0, false };

        config_out_add(&os, "%s ", d->name);
        config_synopsis(&os, d);
        fprintf(out, "  %-34s %-15s %s [%s]\n", syn, d->def ? d->def : "-", d->help,
                config_scope_text(d));
    }
}

/* A '#' comment, wrapped at 79 columns. */
static void config_conf_comment(FILE *out, const char *text)
{
    const size_t width = 79 - 2;
    size_t col = 0;

    while (*text) {
        size_t len = strcspn(text, " ");
        if (col > 0 && col + 1 + len > width) {
            fputc('\n', out);
            col = 0;
        }
        fputs(col == 0 ? "# " : " ", out);
        fwrite(text, 1, len, out);
        col += (col == 0 ? 0 : 1) + len;
        text += len;
        text += strspn(text, " ");
    }
    if (col > 0)
        fputc('\n', out);
}

/* A default as the file would take it back: strings that are empty or hold
 * a separator are quoted. */
static void config_conf_value(FILE *out, const struct config_directive *d, const char *v)
{
    bool quote = (d->type == CONFIG_T_STRING || d->type == CONFIG_T_PATH) &&
                 (!*v || strpbrk(v, " \t;{}#\"\\") != NULL);

    if (!quote) {
        fputs(v, out);
        return;
    }
    fputc('"', out);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fputc('\\', out);
        fputc(*v, out);
    }
    fputc('"', out);
}

/* conf/lingerd.conf: every directive commented out at its default, so the
 * example can never disagree with the server. */
static void config_print_conf(FILE *out)
{
    fputs("# lingerd.conf: every directive at its built-in default, commented out.\n"
          "#\n"
          "# Generated from the directive table in src/conf/config_table.c by tools/gen_reference.c\n"
          "# (make docs); edit the table, then regenerate. tests/unit/test_config.c\n"
          "# checks that they match. Syntax, units and contexts: lingerd.conf(5) and\n"
          "# docs/directives.md.\n"
          "#\n"
          "# Uncomment a line and change its value to override the default. A line\n"
          "# whose argument is in capitals (NAME, PATH, REGEX...) has no default: it\n"
          "# shows what to write. Each says its context: main (the top level),\n"
          "# server (a server { server_name NAME; ... } block), location (a\n"
          "# location PREFIX { ... } block); a value set at one level is the default\n"
          "# of the levels inside it.\n"
          "#\n"
          "# Test a file with: lingerd -t -c FILE\n",
          out);
    for (size_t i = 0; i < config_directive_count(); i++) {
        const struct config_directive *d = &config_directives[i];
        char syn[128], note[96] = "", text[640];
        struct config_out os = { syn, sizeof syn, 0, false };
        struct config_out on = { note, sizeof note, 0, false };
        struct config_out ot = { text, sizeof text, 0, false };

        if (config_starts_group(i))
            fprintf(out, "\n# ==== %s ====\n", d->group);
        config_synopsis(&os, d);
        config_out_add(&on, " Context: %s.", config_scope_text(d));
        if (config_is_repeatable(d))
            config_out_add(&on, " Repeatable.");
        if (!d->def)
            config_out_add(&on, " No default.");

        config_out_add(&ot, "%s.%s", d->help, note);
        fputc('\n', out);
        config_conf_comment(out, text);
        fprintf(out, "#%s ", d->name);
        if (d->def)
            config_conf_value(out, d, d->def);
        else
            fputs(syn, out);
        fputs(";\n", out);
    }
}

void config_print_reference(FILE *out, const char *format)
{
    if (strcmp(format, "markdown") == 0)
        config_print_markdown(out);
    else if (strcmp(format, "man") == 0)
        config_print_man(out);
    else if (strcmp(format, "conf") == 0)
        config_print_conf(out);
    else
        config_print_text(out);
}
