#!/usr/bin/env python3
"""Correctness check of the sluice-floor variants (bench/floor): a small upstream on loopback that
answers with Content-Length, chunked (with trailers, sent in pieces), close-delimited, split heads,
204, HEAD, and echoes request bodies; raw-socket clients through each variant, keep-alive and
pipelined. Bounded in time; loopback only.

  python3 bench/floor/check.py bench/floor/.build/release/sluice-floor [typed bytes splice]
"""
import socket
import subprocess
import sys
import threading
import time

UP = ("127.13.1.1", 18181)
PROXY = {"typed": ("127.13.1.2", 18182), "bytes": ("127.13.1.3", 18183), "splice": ("127.13.1.4", 18184)}


def read_head(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.decode().rstrip("\r\n"))


def read_body(f, headers):
    h = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in headers[1:])}
    if "chunked" in h.get("transfer-encoding", ""):
        out = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                return out
            out += f.read(size)
            f.readline()
    return f.read(int(h.get("content-length", "0")))


def upstream_conn(conn):
    f = conn.makefile("rb")
    try:
        while True:
            head = read_head(f)
            if head is None:
                return
            method, path, _ = head[0].split(" ")
            body = read_body(f, head)
            if method == "HEAD":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n")
            elif path.startswith("/cl/"):
                n = int(path[4:])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n + b"x" * n)
            elif path == "/chunked":
                parts = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"5\r\nhello\r\n", b"6;ext=1\r\n wor", b"ld\r\n",
                         b"1", b"0\r\n" + b"y" * 16 + b"\r\n", b"0\r\nX-Trailer: t\r\n", b"\r\n"]
                for p in parts:
                    conn.sendall(p)
                    time.sleep(0.01)
            elif path == "/split":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
                time.sleep(0.05)
                conn.sendall(b"ngth: 5\r\n\r")
                time.sleep(0.05)
                conn.sendall(b"\nsplit")
            elif path == "/close":
                conn.sendall(b"HTTP/1.1 200 OK\r\n\r\nuntil close")
                return
            elif path == "/204":
                conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
            elif path == "/100":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            elif path == "/echo":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            else:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            if any(l.lower().replace(" ", "") == "connection:close" for l in head[1:]):
                return
    finally:
        conn.close()


def serve(sock):
    while True:
        try:
            c, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=upstream_conn, args=(c,), daemon=True).start()


def response(f, head_request=False):
    head = read_head(f)
    assert head is not None, "connection closed before a response"
    status = int(head[0].split(" ")[1])
    if 100 <= status < 200:
        return response(f, head_request)
    h = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in head[1:])}
    if head_request or status == 204:
        return status, b""
    if "chunked" not in h.get("transfer-encoding", "") and "content-length" not in h:
        return status, f.read()
    return status, read_body(f, head)


def check(mode, addr):
    def conn():
        s = socket.create_connection(addr, timeout=5)
        return s, s.makefile("rb")

    s, f = conn()
    for n in (0, 1024, 65536, 7):  # keep-alive, several sizes on one connection
        s.sendall(b"GET /cl/%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
        assert response(f) == (200, b"x" * n), (mode, "cl", n)
    s.sendall(b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response(f) == (200, b"hello world" + b"y" * 16), (mode, "chunked")
    s.sendall(b"GET /split HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response(f) == (200, b"split"), (mode, "split head")
    s.sendall(b"HEAD /cl/1024 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response(f, head_request=True) == (200, b""), (mode, "HEAD")
    s.sendall(b"GET /204 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response(f) == (204, b""), (mode, "204")
    s.sendall(b"GET /100 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response(f) == (200, b"ok"), (mode, "100 then 200")
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n" + b"z" * 1024)
    assert response(f) == (200, b"z" * 1024), (mode, "POST content-length")
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    time.sleep(0.05)
    s.sendall(b"2\r\nde\r\n0\r\n\r\n")
    assert response(f) == (200, b"abcde"), (mode, "POST chunked")
    s.sendall(b"GET /cl/3 HTTP/1.1\r\nHost: x\r\n\r\nGET /cl/4 HTTP/1.1\r\nHost: x\r\n\r\nGET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response(f) == (200, b"xxx") and response(f) == (200, b"xxxx"), (mode, "pipelined")
    assert response(f) == (200, b"hello world" + b"y" * 16), (mode, "pipelined chunked")
    s.sendall(b"GET /cl/5 HTTP/1.1\r\nHo")  # a request head split across reads
    time.sleep(0.05)
    s.sendall(b"st: x\r\n\r\n")
    assert response(f) == (200, b"xxxxx"), (mode, "split request head")
    s.sendall(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response(f) == (200, b"until close"), (mode, "close-delimited")
    s.close()
    # Connection: close from the client: the proxy closes after the response.
    s, f = conn()
    s.sendall(b"GET /cl/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert response(f) == (200, b"xx"), (mode, "connection close")
    assert f.read() == b"", (mode, "closed after Connection: close")
    s.close()
    # Many connections at once, a few requests each (the pool under concurrency).
    errors = []

    def many(i):
        try:
            c, cf = conn()
            for n in (1, 100, 3000):
                c.sendall(b"GET /cl/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (n + i))
                assert response(cf) == (200, b"x" * (n + i))
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
    ts = [threading.Thread(target=many, args=(i,)) for i in range(50)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    assert not errors, (mode, "concurrent", errors[:3])


def main():
    binary = sys.argv[1]
    modes = sys.argv[2:] or list(PROXY)
    up = socket.socket()
    up.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    up.bind(UP)
    up.listen(256)
    threading.Thread(target=serve, args=(up,), daemon=True).start()
    failed = 0
    for mode in modes:
        addr = PROXY[mode]
        p = subprocess.Popen([binary, "--mode", mode, "--listen", f"{addr[0]}:{addr[1]}", "--upstream", f"{UP[0]}:{UP[1]}"],
                             stdout=subprocess.DEVNULL)
        try:
            end = time.time() + 10
            while time.time() < end:
                try:
                    socket.create_connection(addr, timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.05)
            check(mode, addr)
            print(f"{mode}: ok")
        except AssertionError as e:
            failed += 1
            print(f"{mode}: FAILED {e}")
        finally:
            p.terminate()
            p.wait(10)
    print(f"{len(modes) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
