/* notify — systemd's readiness protocol (sd_notify) without libsystemd.
 *
 * Type=notify services report state by sending a datagram such as
 * "READY=1" to the AF_UNIX socket named in $NOTIFY_SOCKET (an abstract
 * address when it starts with '@'). Outside systemd the variable is unset
 * and every call does nothing.
 */
#ifndef LINGERD_NOTIFY_H
#define LINGERD_NOTIFY_H

/* Send "READY=1", "RELOADING=1", "STOPPING=1", ... 0, or -errno. */
int notify_send(const char *state);

#endif
