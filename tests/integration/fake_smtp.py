"""A scriptable SMTP destination for the outbound tests: a threaded socketserver that speaks
enough ESMTP (EHLO with PIPELINING, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and answers what the test
asks (`extensions`: the EHLO keywords, PIPELINING and 8BITMIME unless told). `replies` decides per stage: a callable (server, stage, arg) -> reply line or None for the
default. Accepted messages are kept in `messages` as (mail_from, [rcpts], bytes).

For connection reuse: `close_after` N transactions (DATA replies) the server drops the connection
without a word; `idle_timeout` seconds without a command it says 421 and closes; `strict`
refuses a MAIL inside an open transaction (until RSET or the end of the data). `connections`,
`max_active` (connections open at once) and `quits` count what clients did.

For odd servers: `greeting` is the first line of the EHLO reply (which names the server and
offers nothing, whatever words it holds); `line_end` "\n" ends every reply line with a bare LF.
`verbs` lists the verb of every command received; `mail_pipelined` says for each MAIL command
whether more commands had come behind it without waiting for its reply.

For TLS: with `tls_context` (a server-side ssl.SSLContext) the server offers STARTTLS and runs a
real handshake; after QUIT it waits for the client's close_notify, then sends its own.
`tls_endings` records, per TLS session, "close_notify" when the client sent one, otherwise what
Python saw (an EOF that violates the protocol, a timeout)."""

import socket
import socketserver
import ssl
import threading
import time


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, line):
        self.wfile.write((line + "\r\n").replace("\r\n", self.server.owner.line_end).encode())
        self.wfile.flush()

    def sent_more(self):
        """Whether the client sent more after the command just read without waiting for its
        reply (PIPELINING), as far as has arrived; None under TLS."""
        if self.tls is not None:
            return None
        self.connection.settimeout(0)  # peek at what is buffered or has arrived, never wait
        try:
            return len(self.rfile.peek(1)) > 0
        except OSError:
            return False
        finally:
            self.connection.settimeout(self.server.owner.idle_timeout or self.timeout)

    def handle(self):
        srv = self.server.owner
        with srv.lock:
            srv.connections += 1
            srv.active += 1
            srv.max_active = max(srv.max_active, srv.active)
        self.tls = None  # the ssl.SSLSocket after STARTTLS
        try:
            self.converse(srv)
        finally:
            if self.tls is not None:
                self.tls.close()  # it took over the connection's descriptor
            with srv.lock:
                srv.active -= 1

    def converse(self, srv):
        self.reply("220 fake.dest.test ESMTP")
        mail_from, rcpts = None, []
        transactions = 0
        if srv.idle_timeout:
            self.connection.settimeout(srv.idle_timeout)
        while True:
            try:
                line = self.rfile.readline(4096)
            except (socket.timeout, TimeoutError):
                self.reply("421 4.4.2 fake.dest.test idle for too long, closing")
                return
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            with srv.lock:
                srv.verbs.append(verb)
            if verb in ("EHLO", "HELO"):
                offer = srv.broken_tls or (srv.tls_context is not None and self.tls is None)
                tls = "250-STARTTLS\r\n" if offer else ""
                offered = "".join(f"250-{e}\r\n" for e in srv.extensions[:-1])
                self.reply(f"250-{srv.greeting}\r\n{tls}{offered}250 {srv.extensions[-1]}"
                           if verb == "EHLO" else "250 fake.dest.test")
            elif verb == "STARTTLS" and srv.broken_tls:
                # Says yes, then answers the ClientHello with text: the handshake fails.
                self.reply("220 2.0.0 ready")
                self.rfile.read1(4096)
                self.wfile.write(b"this is not TLS\r\n" * 8)
                return
            elif verb == "STARTTLS" and srv.tls_context is not None and self.tls is None:
                self.reply("220 2.0.0 ready")
                self.tls = srv.tls_context.wrap_socket(self.connection, server_side=True,
                                                       suppress_ragged_eofs=False)
                self.rfile = self.tls.makefile("rb")
                self.wfile = self.tls.makefile("wb")
                mail_from, rcpts = None, []  # RFC 3207 §4.2: start over
            elif verb == "MAIL":
                if srv.strict and mail_from is not None:
                    self.reply("503 5.5.1 Error: nested MAIL command")  # as Postfix says
                    continue
                mail_from = cmd[cmd.find("<") + 1:cmd.find(">")]
                rcpts = []
                pipelined = self.sent_more()
                with srv.lock:
                    srv.mail_commands.append(cmd)
                    srv.mail_pipelined.append(pipelined)
                self.reply(srv.answer("mail", mail_from) or "250 2.1.0 ok")
            elif verb == "RCPT":
                rcpt = cmd[cmd.find("<") + 1:cmd.find(">")]
                r = srv.answer("rcpt", rcpt) or "250 2.1.5 ok"
                if r.startswith("2"):
                    rcpts.append(rcpt)
                self.reply(r)
            elif verb == "DATA":
                if not rcpts:
                    self.reply("554 5.5.1 no valid recipients")
                    continue
                self.reply("354 go ahead")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline(1 << 20)
                    if not chunk:
                        return
                    if chunk == b".\r\n":
                        break
                    if chunk.startswith(b".."):
                        chunk = chunk[1:]
                    data += chunk
                if srv.data_delay:
                    time.sleep(srv.data_delay)
                r = srv.answer("data", bytes(data)) or "250 2.0.0 queued"
                if r.startswith("2"):
                    with srv.lock:
                        srv.messages.append((mail_from, list(rcpts), bytes(data)))
                self.reply(r)
                mail_from, rcpts = None, []
                transactions += 1
                if srv.close_after and transactions >= srv.close_after:
                    return
            elif verb == "RSET":
                with srv.lock:
                    srv.resets += 1
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                with srv.lock:
                    srv.quits += 1
                self.reply("221 2.0.0 bye")
                if self.tls is not None:
                    self.end_tls(srv)
                return
            else:
                self.reply("502 5.5.2 not implemented")


    def end_tls(self, srv):
        """Waits (5 s) for the client's close_notify, then sends ours. A client that just closes
        the TCP connection makes the read fail: ragged EOFs are not suppressed here."""
        self.tls.settimeout(5)
        try:
            data = self.tls.recv(1)
            ending = "close_notify" if data == b"" else f"data after QUIT: {data!r}"
        except (ssl.SSLError, OSError) as e:
            ending = f"{type(e).__name__}: {e}"
        if ending == "close_notify":
            try:
                self.tls.unwrap()
            except (ssl.SSLError, OSError):
                pass
        with srv.lock:
            srv.tls_endings.append(ending)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeSmtp:
    def __init__(self, replies=None, data_delay=0.0, broken_tls=False, close_after=0,
                 idle_timeout=0.0, strict=False, tls_context=None,
                 extensions=("PIPELINING", "8BITMIME"), greeting="fake.dest.test",
                 line_end="\r\n"):
        self.replies = replies
        self.greeting = greeting  # the first line of the EHLO reply
        self.line_end = line_end  # of every reply line: "\n" for a server that sends bare LF
        self.verbs = []  # every command's verb, in order
        self.mail_pipelined = []  # per MAIL command: more had come without waiting (sent_more)
        self.extensions = list(extensions)  # the EHLO keywords offered (STARTTLS aside)
        self.tls_context = tls_context
        self.tls_endings = []
        self.strict = strict  # MAIL inside an open transaction: 503, as Postfix
        self.resets = 0
        self.close_after = close_after
        self.idle_timeout = idle_timeout
        self.quits = 0
        self.active = 0
        self.max_active = 0
        self.broken_tls = broken_tls
        self.data_delay = data_delay
        self.messages = []
        self.mail_commands = []
        self.connections = 0
        self.lock = threading.Lock()
        self.calls = {}
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, stage, arg):
        with self.lock:
            n = self.calls.get(stage, 0) + 1
            self.calls[stage] = n
        return self.replies(stage, arg, n) if self.replies else None

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
