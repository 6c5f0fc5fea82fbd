#!/usr/bin/env python3
"""Kubernetes-mode scale figures against the real kube-apiserver of ../shared/tools/kube (stdlib only).

Usage: source DIR/env; python3 bench/kube/scale.py [--routes 1000] [--watch-routes 5000] [--trials 20]

1. attachedRoutes written back: N HTTPRoutes on one Gateway are created before `sluice serve
   --kubeconfig` starts; measures start → Gateway status attachedRoutes == N, and → every route has
   our status.
2. route change → first request served, while the N routes churn (a thread rewrites them in a loop):
   one route's path is changed through REST; time until a request to the new path is answered 200.
3. control plane RSS/CPU watching --watch-routes routes (the N above plus more), after it settled.

Every request goes to loopback only; every loop is bounded by count and time.
"""
import argparse, http.client, json, os, random, signal, ssl, statistics, subprocess, sys, threading, time
import http.server, socketserver

SERVER = os.environ["SLUICE_KUBE_SERVER"]
TOKEN = os.environ["SLUICE_KUBE_TOKEN"]
HOST, PORT = SERVER.split("//")[1].rsplit(":", 1)
CTX = ssl._create_unverified_context()
CONTROLLER = "sluice.dev/gateway-controller"
GW = "/apis/gateway.networking.k8s.io/v1"


class API:
    """One keep-alive connection to the API server."""
    def __init__(self):
        self.c = http.client.HTTPSConnection(HOST, int(PORT), context=CTX, timeout=30)

    def call(self, method, path, body=None):
        for attempt in range(3):
            try:
                h = {"Authorization": "Bearer " + TOKEN, "Accept": "application/json"}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    h["Content-Type"] = "application/json"
                self.c.request(method, path, body=data, headers=h)
                r = self.c.getresponse()
                text = r.read()
                return r.status, (json.loads(text) if text else None)
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = http.client.HTTPSConnection(HOST, int(PORT), context=CTX, timeout=30)
        raise RuntimeError("API server unreachable")


def route(ns, name, path):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": [{"name": "gw"}],
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": path}}],
                                "backendRefs": [{"name": "backend", "port": 80}]}]}}


class OK(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass


def get(ip, port, path):
    try:
        c = http.client.HTTPConnection(ip, port, timeout=2)
        c.request("GET", path)
        s = c.getresponse().status
        c.close()
        return s
    except OSError:
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--routes", type=int, default=1000)
    ap.add_argument("--watch-routes", type=int, default=5000)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--sluice", default=".build/debug/sluice")
    a = ap.parse_args()
    api = API()
    run = "%x" % random.randrange(1 << 32)
    ns = "scale-" + run
    ip, port = "127.45.%d.%d" % (random.randrange(1, 250), random.randrange(1, 250)), random.randrange(20000, 40000)
    backend_ip = "127.46.%d.%d" % (random.randrange(1, 250), random.randrange(1, 250))
    backend = socketserver.ThreadingTCPServer((backend_ip, 0), OK)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    bport = backend.server_address[1]

    api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    api.call("POST", GW + "/gatewayclasses", {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
             "metadata": {"name": "scale-" + run}, "spec": {"controllerName": CONTROLLER}})
    api.call("POST", GW + "/namespaces/%s/gateways" % ns, {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
             "metadata": {"name": "gw", "namespace": ns}, "spec": {"gatewayClassName": "scale-" + run,
             "addresses": [{"type": "IPAddress", "value": ip}], "listeners": [{"name": "http", "protocol": "HTTP", "port": port}]}})
    api.call("POST", "/api/v1/namespaces/%s/services" % ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "backend"},
             "spec": {"ports": [{"name": "http", "port": 80, "targetPort": bport}]}})
    api.call("POST", "/apis/discovery.k8s.io/v1beta1/namespaces/%s/endpointslices" % ns, {"apiVersion": "discovery.k8s.io/v1beta1",
             "kind": "EndpointSlice", "metadata": {"name": "backend-1", "labels": {"kubernetes.io/service-name": "backend"}},
             "addressType": "IPv4", "ports": [{"name": "http", "port": bport, "protocol": "TCP"}],
             "endpoints": [{"addresses": [backend_ip], "conditions": {"ready": True}}]})
    t = time.time()
    for i in range(a.routes):
        s, _ = api.call("POST", GW + "/namespaces/%s/httproutes" % ns, route(ns, "r%d" % i, "/r%d" % i))
        assert s == 201, s
    print("created %d routes in %.1f s" % (a.routes, time.time() - t))

    env = dict(os.environ)
    proc = subprocess.Popen([a.sluice, "serve", "--kubeconfig", os.environ["KUBECONFIG"], "--no-mesh", "--no-access-log",
                             "--admin-address", "127.0.0.1:0", "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=open("/tmp/scale-sluice.log", "w"), env=env)
    try:
        start = time.time()
        attached = all_status = None
        deadline = start + 600
        while time.time() < deadline and (attached is None or all_status is None):
            if attached is None:
                _, g = api.call("GET", GW + "/namespaces/%s/gateways/gw" % ns)
                ls = (g.get("status") or {}).get("listeners") or []
                if ls and ls[0].get("attachedRoutes") == a.routes:
                    attached = time.time() - start
            if attached is not None and all_status is None:
                _, lst = api.call("GET", GW + "/namespaces/%s/httproutes" % ns)
                done = sum(1 for r in lst["items"] if any(p.get("controllerName") == CONTROLLER
                                                           for p in (r.get("status") or {}).get("parents", [])))
                if done == a.routes:
                    all_status = time.time() - start
            time.sleep(0.2)
        print("serve start -> Gateway attachedRoutes=%d written back: %.1f s" % (a.routes, attached or -1))
        print("serve start -> all %d routes have our status: %.1f s" % (a.routes, all_status or -1))

        # 2. Route change -> first request served, while the routes churn.
        stop = threading.Event()
        churned = [0]
        def churn():
            c = API()
            i = 0
            end = time.time() + 300
            while not stop.is_set() and time.time() < end:
                n = "r%d" % (1 + i % (a.routes - 1))
                s, r = c.call("GET", GW + "/namespaces/%s/httproutes/%s" % (ns, n))
                if s == 200:
                    r["metadata"].setdefault("labels", {})["churn"] = str(i)
                    c.call("PUT", GW + "/namespaces/%s/httproutes/%s" % (ns, n), r)
                    churned[0] += 1
                i += 1
        th = threading.Thread(target=churn, daemon=True); th.start()
        lat = []
        for k in range(a.trials):
            path = "/changed-%s-%d" % (run, k)
            for attempt in range(10):
                # Sluice's own status writes move r0's resourceVersion: a stale PUT gets 409, re-read.
                _, r0 = api.call("GET", GW + "/namespaces/%s/httproutes/r0" % ns)
                r0["spec"]["rules"][0]["matches"][0]["path"]["value"] = path
                t0 = time.time()
                s, _ = api.call("PUT", GW + "/namespaces/%s/httproutes/r0" % ns, r0)
                if s == 200:
                    break
            assert s == 200, s
            while time.time() - t0 < 30 and get(ip, port, path + "/") != 200:
                time.sleep(0.005)
            lat.append(time.time() - t0)
        stop.set(); th.join()
        lat.sort()
        print("route change -> first request served, %d trials while %d route updates churned: p50 %.0f ms, p99 %.0f ms, max %.0f ms"
              % (a.trials, churned[0], 1000 * statistics.median(lat), 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1000 * lat[-1]))

        # 3. RSS / CPU watching more routes.
        extra = a.watch_routes - a.routes
        t = time.time()
        for i in range(max(0, extra)):
            api.call("POST", GW + "/namespaces/%s/httproutes" % ns, route(ns, "w%d" % i, "/w%d" % i))
        print("created %d more routes in %.1f s" % (max(0, extra), time.time() - t))
        while time.time() - t < 600:
            _, g = api.call("GET", GW + "/namespaces/%s/gateways/gw" % ns)
            ls = (g.get("status") or {}).get("listeners") or []
            if ls and ls[0].get("attachedRoutes") == a.watch_routes:
                break
            time.sleep(0.5)
        print("attachedRoutes=%d written back %.1f s after the first create" % (a.watch_routes, time.time() - t))
        def cpu():
            f = open("/proc/%d/stat" % proc.pid).read().split(")")[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        c0 = cpu(); time.sleep(10); c1 = cpu()
        rss = [l for l in open("/proc/%d/status" % proc.pid) if l.startswith("VmRSS")][0].split()[1]
        print("watching %d routes, idle: RSS %d MiB, CPU %.1f%% of a core over 10 s" % (a.watch_routes, int(rss) // 1024, 10 * (c1 - c0)))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        backend.shutdown()
        # No controller deletes a namespace's objects here: delete the routes, or the next run
        # watches them too.
        api.call("DELETE", GW + "/namespaces/%s/httproutes" % ns)


if __name__ == "__main__":
    main()
