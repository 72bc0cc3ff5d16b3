"""An HTTP/2 client for black-box tests: frames built by hand, so a test can
send what a correct client never would, and read what the server answers.

Two ways in: TLS with ALPN (h2 offered first) or h2c with prior knowledge on
a plain socket (the server needs `http2_cleartext on`). Header blocks are
encoded as HPACK literals without indexing (never touching the server's
dynamic table, so a malformed block cannot put the two tables out of step);
the server's blocks are decoded with the `hpack` package that `h2` brings.

The client keeps its own view of the conversation: per-stream responses
(status, fields, body, trailers, the RST_STREAM code if any), every GOAWAY
and RST_STREAM in arrival order, SETTINGS and PING ACKs, and how the TCP
connection ended: a clean EOF, a TLS EOF without close_notify (ragged), or a
reset (ECONNRESET / EPIPE). Every read is bounded by a deadline.

    c = H2Client.h2c(srv)                     # or H2Client.tls(srv, ca)
    c.handshake()
    s = c.get("/index.html")                  # a Stream, ended or reset
    c.send(frame(PING, 0, 0, b"12345678"))    # anything, raw
    c.pump(lambda: c.goaways, timeout=5)
"""

import socket
import ssl
import struct
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
TYPE_NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE",
              "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"]

END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# SETTINGS identifiers (RFC 9113 §6.5.2)
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, \
    MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = range(1, 7)

ERROR_NAMES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
               "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
               "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
               "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
ERR = {name: code for code, name in enumerate(ERROR_NAMES)}

MAX_STREAM_ID = 2**31 - 1
MAX_WINDOW = 2**31 - 1


def error_name(code):
    return ERROR_NAMES[code] if 0 <= code < len(ERROR_NAMES) else "0x%x" % code


# ---------------------------------------------------------------------------
# Frame bytes


def frame(ftype, flags, stream_id, payload=b""):
    """One frame: 9-byte header (length, type, flags, R + stream id), payload."""
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ftype, flags,
                       stream_id & 0x7FFFFFFF) + payload


def settings(pairs=(), ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0,
                 b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def window_update(stream_id, increment):
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment & 0x7FFFFFFF))


def rst_stream(stream_id, code):
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def ping(data=b"lingerd!", ack=False):
    return frame(PING, ACK if ack else 0, 0, data)


def goaway(last_stream_id, code, debug=b""):
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream_id, code) + debug)


def padded(payload, pad):
    """Payload with a Pad Length byte and pad zero bytes (flags get PADDED)."""
    return bytes([pad]) + payload + b"\0" * pad


def data(stream_id, payload, end_stream=False, pad=None):
    flags = END_STREAM if end_stream else 0
    if pad is not None:
        return frame(DATA, flags | PADDED, stream_id, padded(payload, pad))
    return frame(DATA, flags, stream_id, payload)


def headers(stream_id, block, end_stream=False, end_headers=True, pad=None, priority=None):
    """A HEADERS frame carrying an encoded block (see encode_headers);
    priority=(dependency, weight) adds the PRIORITY fields."""
    flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
    payload = block
    if priority is not None:
        flags |= PRIORITY_FLAG
        payload = struct.pack(">IB", priority[0], priority[1]) + payload
    if pad is not None:
        flags |= PADDED
        payload = padded(payload, pad)
    return frame(HEADERS, flags, stream_id, payload)


def continuation(stream_id, block, end_headers=True):
    return frame(CONTINUATION, END_HEADERS if end_headers else 0, stream_id, block)


def _hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_headers(fields):
    """An HPACK block of literal fields without indexing, new names, no
    Huffman (RFC 7541 §6.2.2): any bytes go through, valid or not, and the
    server's dynamic table is never changed by us."""
    out = b""
    for name, value in fields:
        name = name.encode("latin-1") if isinstance(name, str) else name
        value = value.encode("latin-1") if isinstance(value, str) else value
        out += b"\x00" + _hpack_int(len(name), 7) + name + _hpack_int(len(value), 7) + value
    return out


def request_fields(method="GET", path="/", authority="localhost", scheme="https",
                   extra=()):
    fields = [(":method", method), (":scheme", scheme), (":authority", authority),
              (":path", path)]
    return fields + list(extra)


# ---------------------------------------------------------------------------
# The client


CONNECTION_FIELDS = ("connection", "keep-alive", "proxy-connection", "transfer-encoding",
                     "upgrade")


def check_response_fields(fields, trailers=False):
    """RFC 9113 §8.2, §8.3.2, checked on every field block the server sends:
    lowercase names, no connection-specific field, exactly one :status
    first (none in trailers), no other pseudo-header."""
    names = [k for k, _ in fields]
    for k in names:
        assert k == k.lower(), "uppercase field name %r in %s" % (k, fields)
        assert k not in CONNECTION_FIELDS, "connection-specific field %r in %s" % (k, fields)
    pseudo = [k for k in names if k.startswith(":")]
    if trailers:
        assert not pseudo, "pseudo-header in trailers: %s" % fields
    else:
        assert pseudo == [":status"] and names[0] == ":status", "bad pseudo-headers: %s" % fields


def check_length(st):
    """§8.1.1: a content-length must match the DATA of the response (not
    for HEAD, 204, 304)."""
    cl = st.field("content-length")
    if cl is None or st.method == "HEAD" or st.status in (204, 304) or st.method is None:
        return
    assert int(cl) == len(st.body), "content-length %s but %d bytes of DATA on stream %d" % (
        cl, len(st.body), st.id)


class Stream:
    def __init__(self, sid):
        self.id = sid
        self.informational = []   # 1xx header lists
        self.headers = None       # final response fields, [(name, value)] as str
        self.body = bytearray()
        self.trailers = None
        self.ended = False        # END_STREAM received
        self.reset = None         # RST_STREAM code received
        self.method = None        # when sent through H2Client.request
        self.reset_after_end = None  # True: RST came after END_STREAM

    @property
    def status(self):
        return int(self.field(":status")) if self.headers is not None else None

    def field(self, name, default=None):
        for k, v in self.headers or ():
            if k == name:
                return v
        return default

    def fields(self, name):
        return [v for k, v in self.headers or () if k == name]

    @property
    def done(self):
        return self.ended or self.reset is not None

    def __repr__(self):
        return "<Stream %d status=%s body=%d ended=%s reset=%s>" % (
            self.id, self.status, len(self.body), self.ended,
            None if self.reset is None else error_name(self.reset))


class H2Client:
    """One HTTP/2 connection. Scheme is "https" on TLS, "http" on h2c."""

    def __init__(self, sock, scheme, timeout=10, window=2**24):
        self.sock = sock
        self.scheme = scheme
        self.timeout = timeout
        self.buf = b""
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 2**24
        self.decoder.max_allowed_table_size = 2**16
        self.streams = {}
        self.next_id = 1
        self.frames = []            # every frame received: (type, flags, sid, payload length)
        self.goaways = []           # (last_stream_id, code, debug)
        self.resets = []            # (sid, code)
        self.pings = []             # payloads of PINGs from the server (we ACK them)
        self.ping_acks = []
        self.settings_acks = 0
        self.server_settings = {}   # latest values the server sent
        self.server_settings_seen = False
        self.window = window        # what we advertise per stream and open on the connection
        self.auto_window = True     # answer DATA with WINDOW_UPDATEs
        self.auto_ping_ack = True
        self.auto_settings_ack = True
        self.track = True           # follow the windows we grant (see _check_received)
        self.recv_window = 65535
        self.our_initial_window = 65535
        self.our_max_frame = 16384
        self.stream_recv_windows = {}
        self.unacked_settings = []  # per SETTINGS we sent: a window decrease it carries
        self.send_window = 65535    # connection window for our DATA
        self.peer_initial_window = 65535
        self.peer_max_frame = 16384
        self.stream_send_windows = {}
        self.eof = False            # the server's side ended cleanly (FIN / close_notify)
        self.ragged = False         # TLS: FIN without close_notify
        self.reset = False          # ECONNRESET / EPIPE seen, reading or writing
        self.alpn = None
        self.http1 = False          # the server answered in HTTP/1.x instead
        self.tls_error = None       # a local TLS error on send
        self._hdr_block = None      # (sid, flags, bytes) while CONTINUATIONs are expected
        if isinstance(sock, ssl.SSLSocket):
            self.alpn = sock.selected_alpn_protocol()

    # -- opening

    @classmethod
    def h2c(cls, srv, timeout=10, **kw):
        sock = socket.create_connection((srv.host, srv.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, "http", timeout, **kw)

    @classmethod
    def tls(cls, srv, ca, alpn=("h2", "http/1.1"), sni="localhost", timeout=10, **kw):
        ctx = tls_context(ca, alpn)
        raw = socket.create_connection((srv.host, srv.port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = ctx.wrap_socket(raw, server_hostname=sni, suppress_ragged_eofs=False)
        return cls(sock, "https", timeout, **kw)

    @classmethod
    def connect(cls, srv, ca=None, **kw):
        """TLS when the server's listener is TLS, else h2c."""
        return cls.tls(srv, ca, **kw) if srv.tls else cls.h2c(srv, **kw)

    def handshake(self, client_settings=None, timeout=None):
        """Preface, our SETTINGS and a connection WINDOW_UPDATE; then read
        until the server's SETTINGS and the ACK of ours. Returns self."""
        if client_settings is None:
            client_settings = [(ENABLE_PUSH, 0), (INITIAL_WINDOW_SIZE, self.window)]
        out = PREFACE + settings(client_settings)
        if self.window > 65535:
            out += window_update(0, self.window - 65535)
        self.send(out)
        ok = self.pump(lambda: self.server_settings_seen and self.settings_acks >= 1,
                       timeout)
        if not ok:
            raise AssertionError("no SETTINGS exchange: %s" % self.describe())
        return self

    # -- sending

    def send(self, data_bytes):
        """Send raw bytes; False (and self.reset) if the server's side reset."""
        self._note_sent(data_bytes)
        try:
            self.sock.sendall(data_bytes)
            return True
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
            self.reset = True
        except ssl.SSLError as e:
            self.tls_error = e  # e.g. writing after our own shutdown: not the peer's doing
        except socket.timeout:
            raise AssertionError("send blocked for %ss: %s" % (self.timeout, self.describe()))
        return False

    def _note_sent(self, out):
        """Follow what we grant the server: WINDOW_UPDATEs and
        INITIAL_WINDOW_SIZE / MAX_FRAME_SIZE in our SETTINGS. Raw bytes that
        are not whole frames stop the accounting (its checks are then off)."""
        if not self.track:
            return
        if out.startswith(PREFACE):
            out = out[len(PREFACE):]
        while out:
            if len(out) < 9:
                self.track = False
                return
            n = (out[0] << 16) | (out[1] << 8) | out[2]
            ftype, flags = out[3], out[4]
            sid = struct.unpack(">I", out[5:9])[0] & 0x7FFFFFFF
            payload = out[9:9 + n]
            if len(payload) < n:
                self.track = False
                return
            out = out[9 + n:]
            if ftype == WINDOW_UPDATE and n == 4:
                inc = struct.unpack(">I", payload)[0] & 0x7FFFFFFF
                if sid == 0:
                    self.recv_window += inc
                else:
                    self.stream_recv_windows[sid] = self.stream_recv_windows.get(
                        sid, self.our_initial_window) + inc
            elif ftype == SETTINGS and not flags & ACK and n % 6 == 0:
                shrink = None
                for i in range(0, n, 6):
                    k, v = struct.unpack(">HI", payload[i:i + 6])
                    if k == INITIAL_WINDOW_SIZE and v <= MAX_WINDOW:
                        if v >= self.our_initial_window:
                            self._set_initial_window(v)
                        else:
                            shrink = v
                    elif k == MAX_FRAME_SIZE:
                        self.our_max_frame = max(self.our_max_frame, v)
                # DATA already on its way was sent under the larger window: a
                # smaller one binds the server from its ACK on (TCP keeps order).
                self.unacked_settings.append(shrink)

    def _set_initial_window(self, v):
        delta = v - self.our_initial_window
        self.our_initial_window = v
        for s in self.stream_recv_windows:
            self.stream_recv_windows[s] += delta

    def _check_received(self, ftype, sid, n):
        """RFC 9113 §4.2 and §6.9.1, checked on every frame the server sends:
        never past our SETTINGS_MAX_FRAME_SIZE, DATA never past a window we
        granted."""
        if not self.track:
            return
        assert n <= self.our_max_frame, "server sent a %s frame of %d bytes (max %d)" % (
            TYPE_NAMES[ftype] if ftype < len(TYPE_NAMES) else ftype, n, self.our_max_frame)
        if ftype == DATA and n:
            self.recv_window -= n
            w = self.stream_recv_windows.get(sid, self.our_initial_window) - n
            self.stream_recv_windows[sid] = w
            assert self.recv_window >= 0 and w >= 0, \
                "server DATA overran flow control on stream %d (windows %d, %d)" % (
                    sid, self.recv_window, w)

    def new_stream_id(self):
        sid = self.next_id
        self.next_id += 2
        return sid

    def stream(self, sid):
        if sid % 2 == 1 and sid >= self.next_id:
            self.next_id = sid + 2  # new_stream_id() stays above every id used
        if sid not in self.streams:
            self.streams[sid] = Stream(sid)
            self.stream_send_windows[sid] = self.peer_initial_window
        return self.streams[sid]

    def request(self, method="GET", path="/", authority="localhost", extra=(), body=None,
                end_stream=None, sid=None, fields=None):
        """HEADERS for a request (a body follows unless end_stream); returns
        the stream id. fields replaces the whole list (pseudo-headers too)."""
        sid = sid or self.new_stream_id()
        if fields is None:
            fields = request_fields(method, path, authority, self.scheme, extra)
        if end_stream is None:
            end_stream = body is None
        self.stream(sid).method = dict(fields).get(":method")
        self.send(headers(sid, encode_headers(fields), end_stream=end_stream))
        if body is not None:
            self.send_body(sid, body, end_stream=True)
        return sid

    def send_body(self, sid, body, end_stream=True, timeout=None, stop_on_reset=True):
        """DATA within the flow-control windows, reading (and so learning of
        WINDOW_UPDATEs) only when a window is closed. Returns the bytes
        sent; stops early if the stream is reset (stop_on_reset) or the
        connection ends."""
        deadline = time.monotonic() + (timeout or self.timeout)
        sent = 0
        st = self.stream(sid)
        while True:
            if stop_on_reset and st.reset is not None:
                return sent
            if self.eof or self.reset or self.ragged:
                return sent
            room = min(self.send_window, self.stream_send_windows.get(sid, 0),
                       self.peer_max_frame, len(body) - sent)
            last = sent + room == len(body)
            if room > 0 or (last and len(body) == sent):
                chunk = body[sent:sent + room]
                if not self.send(data(sid, chunk, end_stream=end_stream and last)):
                    return sent
                self.send_window -= room
                self.stream_send_windows[sid] -= room
                sent += room
                if last:
                    return sent
                continue
            if time.monotonic() > deadline:
                raise AssertionError("flow control never opened: sent %d of %d: %s"
                                     % (sent, len(body), self.describe()))
            self.read_some(min(0.2, max(0.01, deadline - time.monotonic())))

    def get(self, path="/", method="GET", authority="localhost", extra=(), timeout=None):
        sid = self.request(method, path, authority, extra)
        return self.wait(sid, timeout)

    def wait(self, sid, timeout=None):
        """The stream once it ended or was reset (fails otherwise)."""
        st = self.stream(sid)
        if not self.pump(lambda: st.done, timeout):
            raise AssertionError("stream %d unanswered: %s" % (sid, self.describe()))
        return st

    # -- reading

    def read_some(self, timeout):
        """One recv (at most timeout seconds), then every whole frame in the
        buffer handled. False once the connection has ended."""
        if self.eof or self.reset or self.ragged:
            self._drain_buffer()
            return False
        self.sock.settimeout(max(timeout, 0.001))
        try:
            chunk = self.sock.recv(1 << 18)
        except socket.timeout:
            return True
        except ssl.SSLWantReadError:
            return True
        except (ConnectionResetError, BrokenPipeError):
            self.reset = True
            return False
        except ssl.SSLEOFError:
            self.ragged = True
            return False
        except ssl.SSLError as e:
            self.tls_error = e
            self.reset = True
            return False
        finally:
            try:
                self.sock.settimeout(self.timeout)
            except OSError:
                pass
        if not chunk:
            self.eof = True
            self._drain_buffer()
            return False
        self.buf += chunk
        self._drain_buffer()
        return True

    def pump(self, until=lambda: False, timeout=None):
        """Read and handle frames until until() is true, the connection
        ends, or timeout (default: the client's) passes; returns until()."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not self.read_some(min(left, 0.5)):
                break
        return until()

    def read_to_end(self, timeout=None):
        """Read until the server ends the connection; True if it did."""
        return self.pump(lambda: self.ended, timeout)

    @property
    def ended(self):
        return self.eof or self.reset or self.ragged

    def _drain_buffer(self):
        if not self.frames and self.buf[:7] == b"HTTP/1."[:len(self.buf[:7])]:
            # An HTTP/1.1 answer (e.g. to a bad preface on an h2c port): kept
            # whole in self.buf, not parsed as frames.
            self.http1 = len(self.buf) >= 7
            return
        while len(self.buf) >= 9:
            n = (self.buf[0] << 16) | (self.buf[1] << 8) | self.buf[2]
            if len(self.buf) < 9 + n:
                return
            ftype, flags = self.buf[3], self.buf[4]
            sid = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
            payload = self.buf[9:9 + n]
            self.buf = self.buf[9 + n:]
            self.frames.append((ftype, flags, sid, n))
            self._check_received(ftype, sid, n)
            self._handle(ftype, flags, sid, payload)

    def _handle(self, ftype, flags, sid, payload):
        if ftype == SETTINGS:
            if flags & ACK:
                self.settings_acks += 1
                shrink = self.unacked_settings.pop(0) if self.unacked_settings else None
                if shrink is not None and self.track:
                    self._set_initial_window(shrink)
                return
            for i in range(0, len(payload) - len(payload) % 6, 6):
                k, v = struct.unpack(">HI", payload[i:i + 6])
                self.server_settings[k] = v
                if k == INITIAL_WINDOW_SIZE:
                    delta = v - self.peer_initial_window
                    self.peer_initial_window = v
                    for s in self.stream_send_windows:
                        self.stream_send_windows[s] += delta
                elif k == MAX_FRAME_SIZE:
                    self.peer_max_frame = v
            self.server_settings_seen = True
            if self.auto_settings_ack and not self.ended:
                self.send(settings(ack=True))
        elif ftype == PING:
            if flags & ACK:
                self.ping_acks.append(payload)
            else:
                self.pings.append(payload)
                if self.auto_ping_ack and not self.ended:
                    self.send(ping(payload, ack=True))
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.goaways.append((last & 0x7FFFFFFF, code, payload[8:]))
        elif ftype == RST_STREAM:
            code = struct.unpack(">I", payload[:4])[0]
            self.resets.append((sid, code))
            st = self.stream(sid)
            st.reset = code
            st.reset_after_end = st.ended
        elif ftype == WINDOW_UPDATE:
            inc = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            if sid == 0:
                self.send_window += inc
            else:
                self.stream_send_windows[sid] = self.stream_send_windows.get(
                    sid, self.peer_initial_window) + inc
        elif ftype == DATA:
            body = payload
            if flags & PADDED:
                body = payload[1:len(payload) - payload[0]]
            st = self.stream(sid)
            st.body += body
            if flags & END_STREAM:
                st.ended = True
                check_length(st)
            if self.auto_window and payload and not self.ended:
                out = window_update(0, len(payload))
                if not st.ended and st.reset is None:
                    out += window_update(sid, len(payload))
                self.send(out)
        elif ftype in (HEADERS, CONTINUATION, PUSH_PROMISE):
            if ftype == HEADERS:
                block = payload
                if flags & PADDED:
                    block = block[1:len(block) - block[0]]
                if flags & PRIORITY_FLAG:
                    block = block[5:]
                self._hdr_block = (sid, flags, block)
            elif ftype == CONTINUATION and self._hdr_block is not None:
                s0, f0, b0 = self._hdr_block
                self._hdr_block = (s0, f0 | (flags & END_HEADERS), b0 + payload)
            elif ftype == PUSH_PROMISE:
                raise AssertionError("PUSH_PROMISE although we sent ENABLE_PUSH=0")
            if self._hdr_block is not None and self._hdr_block[1] & END_HEADERS:
                s0, f0, b0 = self._hdr_block
                self._hdr_block = None
                fields = [(k.decode("latin-1"), v.decode("latin-1"))
                          for k, v in self.decoder.decode(b0, raw=True)]
                st = self.stream(s0)
                status = dict(fields).get(":status")
                trailers = st.headers is not None and (status is None or
                                                       not status.startswith("1"))
                check_response_fields(fields, trailers)
                if status is not None and status.startswith("1"):
                    st.informational.append(fields)
                elif st.headers is None:
                    st.headers = fields
                else:
                    st.trailers = fields
                if f0 & END_STREAM:
                    st.ended = True
                    check_length(st)

    # -- summaries

    def goaway_codes(self):
        return [error_name(code) for _, code, _ in self.goaways]

    def reset_codes(self, sid=None):
        return [error_name(code) for s, code in self.resets if sid is None or s == sid]

    def connection_error(self):
        """The code of the last GOAWAY with an error, else None."""
        for _, code, _ in reversed(self.goaways):
            if code != 0:
                return error_name(code)
        return None

    def describe(self):
        kinds = {}
        for f in self.frames:
            name = TYPE_NAMES[f[0]] if f[0] < len(TYPE_NAMES) else str(f[0])
            kinds[name] = kinds.get(name, 0) + 1
        return ("frames=%s goaways=%s resets=%s streams=%s eof=%s ragged=%s reset=%s"
                % (kinds, [(l, error_name(c), d[:60]) for l, c, d in self.goaways],
                   [(s, error_name(c)) for s, c in self.resets][:20],
                   list(self.streams.values())[:8], self.eof, self.ragged, self.reset))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def tls_context(ca, alpn=("h2", "http/1.1")):
    ctx = ssl.create_default_context(cafile=ca.cert)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def expect_stream_error(c, sid, codes=("PROTOCOL_ERROR",), timeout=None):
    """The server must end stream sid with RST_STREAM(code) — or, as RFC
    9113 §5.4 lets an endpoint treat any stream error as a connection
    error, with GOAWAY(code). Returns "stream" or "connection"."""
    st = c.stream(sid)
    c.pump(lambda: st.reset is not None or c.goaways or c.ended, timeout)
    if st.reset is not None:
        assert error_name(st.reset) in codes, "stream %d reset with %s, want %s: %s" % (
            sid, error_name(st.reset), codes, c.describe())
        return "stream"
    err = c.connection_error()
    assert err in codes, "want RST_STREAM or GOAWAY with %s on stream %d: %s" % (
        codes, sid, c.describe())
    return "connection"


def expect_connection_error(c, codes=("PROTOCOL_ERROR",), timeout=None, allow_close=False):
    """The server must send GOAWAY with one of codes and then close (a
    close without GOAWAY only if allow_close: e.g. a bad preface, where
    RFC 9113 §3.4 lets the server just close). The close must not be a
    reset of a GOAWAY the client had not read: the GOAWAY arrives whole."""
    c.pump(lambda: c.connection_error() in codes or c.ended, timeout)
    if c.connection_error() is None and allow_close:
        assert c.pump(lambda: c.ended, timeout), "neither GOAWAY nor close: " + c.describe()
        return None
    assert c.connection_error() in codes, "want GOAWAY(%s): %s" % (codes, c.describe())
    assert c.pump(lambda: c.ended, timeout), \
        "GOAWAY(%s) but the connection stayed open: %s" % (codes, c.describe())
    return c.connection_error()


# ---------------------------------------------------------------------------
# Servers and counters


H2C = "http2_cleartext on;\n"


def h2c_server(make_server, extra="", **kw):
    """A plain listener that takes HTTP/2 with prior knowledge."""
    return make_server(H2C + extra, **kw)


def tls_server(make_server, ca, extra="", names=("localhost",), **kw):
    leaf = ca.leaf(*names)
    return make_server("tls_certificate %s %s;\n%s" % (leaf.cert, leaf.key, extra),
                       tls=True, **kw)


def http1_get(srv, path, ca=None, headers=(), method="GET", timeout=10):
    """One HTTP/1.1 request on its own connection (TLS with ALPN http/1.1
    when the listener is TLS): a conftest Response."""
    from conftest import Reader, request
    sock = socket.create_connection((srv.host, srv.port), timeout=timeout)
    if srv.tls:
        sock = tls_context(ca, ["http/1.1"]).wrap_socket(sock, server_hostname="localhost")
    try:
        sock.sendall(request(method, path, headers))
        r = Reader(sock, timeout).response(head_request=(method == "HEAD"))
        assert r is not None, "no HTTP/1.1 answer to %s %s" % (method, path)
        return r
    finally:
        sock.close()


def metrics(srv, ca=None):
    """/metrics as {series: value}, read over HTTP/1.1."""
    from test_status import parse_exposition
    r = http1_get(srv, "/metrics", ca)
    assert r.status == 200, r
    return parse_exposition(r.body.decode())


def counter(m, name, **labels):
    """One series of a metrics dict: 0 when the family is there without
    this series (a counter not yet moved may be left out); fails when the
    family is missing altogether. Labels are matched as given."""
    family = [k for k in m if k == name or k.startswith(name + "{")]
    assert family, "no %s in /metrics" % name
    if labels:
        name += "{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
    return m.get(name, 0)


def assert_still_serves(c, path="/index.html", want=None):
    """A new stream on the same connection gets path whole."""
    st = c.get(path)
    assert st.status == 200 and st.ended and st.reset is None, c.describe()
    if want is not None:
        assert bytes(st.body) == want
    return st


def assert_server_serves(srv, ca=None, path="/index.html"):
    """A new connection gets path over HTTP/2: the server survived."""
    c = H2Client.connect(srv, ca).handshake()
    try:
        return assert_still_serves(c, path)
    finally:
        c.close()
