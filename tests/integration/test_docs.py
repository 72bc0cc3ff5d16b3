"""The documentation against the binary: what `lingerd -h` prints must be in
the man page and the directive reference, and the generated example
configuration must be valid when uncommented. Each test fails when the docs
and the server drift apart."""

import os
import re
import subprocess

from conftest import BIN, REPO

MAN8 = os.path.join(REPO, "docs", "man", "lingerd.8")
DIRECTIVES_MD = os.path.join(REPO, "docs", "directives.md")
CONF = os.path.join(REPO, "conf", "lingerd.conf")


def help_text():
    p = subprocess.run([BIN, "-h"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return p.stdout


def help_options():
    """(letter, description) for every option line of -h: '  -c FILE    read ...'."""
    opts = re.findall(r"^  -([A-Za-z])(?: [A-Z]+)? +(\S.*)$", help_text(), re.M)
    assert len(opts) >= 10, opts  # the parse itself must not silently find nothing
    return opts


def help_directives():
    """Directive names from the -h directive list: '  name ARGS   default  help'."""
    text = help_text().split("Directives (", 1)[1]
    names = re.findall(r"^  ([a-z][a-z0-9_]+) ", text, re.M)
    assert len(names) >= 30, names
    return names


def man_text():
    """The man page source as running text: roff's \\- is a '-'; lines joined."""
    with open(MAN8) as f:
        src = f.read()
    lines = [l for l in src.splitlines() if not l.startswith('.\\"')]
    return " ".join(lines).replace("\\-", "-")


def test_every_option_of_dash_h_is_in_the_man_page():
    man = man_text()
    missing = [letter for letter, _ in help_options()
               if not re.search(r"\.BI? -%s\b" % letter, man)]
    assert not missing, "options of lingerd -h without a .B/.BI entry in lingerd.8: %s" % missing


def test_every_option_description_of_dash_h_is_in_the_man_page_word_for_word():
    man = man_text()
    missing = [(letter, desc) for letter, desc in help_options() if desc not in man]
    assert not missing, "lingerd.8 does not say what lingerd -h says: %s" % missing


def test_the_man_page_lists_no_option_lingerd_lacks():
    letters = {letter for letter, _ in help_options()}
    with open(MAN8) as f:
        src = f.read()
    section = src.split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
    documented = set(re.findall(r"^\.BI? \\-([A-Za-z])\b", section, re.M))
    assert documented == letters, (documented, letters)


def test_every_directive_of_dash_h_is_in_the_reference():
    with open(DIRECTIVES_MD) as f:
        md = f.read()
    missing = [n for n in help_directives() if "\n### %s\n" % n not in md]
    assert not missing, "directives of lingerd -h missing from docs/directives.md: %s" % missing


def test_the_example_conf_uncommented_at_its_defaults_is_valid(tmp_path):
    # Every '#name value;' line of conf/lingerd.conf whose value is the
    # directive's default (per docs/directives.md), uncommented, must pass -t:
    # the example shows values the server accepts.
    with open(DIRECTIVES_MD) as f:
        md = f.read()
    defaults = dict(re.findall(r"\n### (\S+)\n.*?\n- Default: `([^`]*)`", md, re.S))
    with open(CONF) as f:
        lines = f.read().splitlines()
    out, used = [], []
    for line in lines:
        m = re.match(r"^#([a-z][a-z0-9_]+) (.*);$", line)
        if m and m.group(1) in defaults and m.group(2).strip('"') == defaults[m.group(1)]:
            out.append(line[1:])
            used.append(m.group(1))
    assert len(used) >= 30, used
    conf = tmp_path / "defaults.conf"
    conf.write_text("\n".join(out) + "\n")
    p = subprocess.run([BIN, "-t", "-c", str(conf)], capture_output=True, text=True,
                       timeout=10, cwd=REPO)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_upload_site_example_is_valid():
    p = subprocess.run([BIN, "-t", "-c", "conf/upload-site.conf"], capture_output=True,
                       text=True, timeout=10, cwd=REPO)
    assert p.returncode == 0, p.stdout + p.stderr
