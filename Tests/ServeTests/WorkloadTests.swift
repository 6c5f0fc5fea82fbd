import ControlPlane
import Echo
import Foundation
import GatewayAPI
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Serve
import Testing

@Suite("Local workloads (DESIGN.md §3)")
struct WorkloadTests {
    @Test("2 echo-basic replicas: distinct 127.1.x.y addresses, names, template labels, a ready slice at the named port, JSON pod/namespace")
    func twoReplicas() async throws {
        let ns = WL.namespace("two")
        let starts = NIOLockedValueBox<[String: Int]>([:])
        let w = LocalWorkloads(group: WL.group, log: { pod, line in
            if line.hasPrefix("Starting server") && line.hasSuffix("(http)") { starts.withLockedValue { $0[pod, default: 0] += 1 } }
        })
        defer { Task { await w.stopAll() } }
        let snapshot = WL.snapshot(
            WL.deployment("infra-backend-v1", ns: ns, replicas: 2, ports: "            - name: web\n              containerPort: 3000\n"),
            WL.service("infra-backend-v1", ns: ns, selector: "infra-backend-v1", targetPort: "web", portName: "http"))
        let diags = await w.reconcile(snapshot)
        #expect(diags.filter { $0.severity != .info }.isEmpty, "\(diags)")

        let podNamePattern = #/^[a-z0-9-]+-[a-z0-9]{10}-[a-z0-9]{5}$/#
        let pods = w.pods(matching: ["app": "infra-backend-v1"], namespace: ns)
        try #require(pods.count == 2, "\(w.pods)")
        #expect(Set(pods.map(\.address)).count == 2)
        for p in pods {
            #expect(p.address.hasPrefix("127.1."))
            #expect(p.name.wholeMatch(of: podNamePattern) != nil, "\(p.name)")
            #expect(p.name.hasPrefix("infra-backend-v1-"))
            #expect(p.labels["app"] == "infra-backend-v1" && p.labels["tier"] == "backend")
            #expect(p.ready && p.problem == nil)
            #expect(p.listeningPorts.contains(3000) && p.listeningPorts.contains(3001))
            #expect(p.port(named: "web") == 3000)
            #expect(w.pod(at: p.address) == p)
            #expect(w.pod(named: p.name) == p)
            #expect(w.podAddress(namespace: ns, deployment: "infra-backend-v1", replica: p.replica) == p.address)
        }
        #expect(Set(pods.map(\.replica)) == [0, 1])
        #expect(Set(pods.map(\.templateHash)).count == 1, "one template, one hash")

        // The slice.
        let slices = w.endpointSlices(for: snapshot.services)
        try #require(slices.count == 1)
        let slice = slices[0]
        #expect(slice.metadata.name == "infra-backend-v1-local")
        #expect(slice.metadata.namespace == ns)
        #expect(slice.serviceName == "infra-backend-v1")
        #expect(slice.ports == [EndpointPort(name: "http", protocol: .tcp, port: 3000)])
        let endpoints = slice.endpoints ?? []
        #expect(endpoints.count == 2)
        #expect(endpoints.allSatisfy { $0.isReady && $0.isServing && !$0.isTerminating })
        #expect(Set(endpoints.flatMap(\.addresses)) == Set(pods.map(\.address)))
        #expect(Set(endpoints.compactMap { $0.targetRef?.name }) == Set(pods.map(\.name)))
        #expect(endpoints.allSatisfy { $0.targetRef?.kind == "Pod" && $0.targetRef?.namespace == ns })

        // A request to each pod address: echo-basic's JSON with the pod's name and namespace.
        for p in pods {
            let r = try await RawHTTP.get(p.address, 3000, "/hello")
            #expect(r.status == 200)
            let json = try #require(r.json, "\(r.body)")
            #expect(json["pod"] as? String == p.name)
            #expect(json["namespace"] as? String == ns)
            #expect(json["path"] as? String == "/hello")
        }
        // The request is in the pod's log (what the mirror checks read).
        let logs = w.logs(ofPodsWithLabels: ["app": "infra-backend-v1"], namespace: ns)
        #expect(logs.count == 2)
        #expect(logs.values.allSatisfy { $0.contains { $0.contains("Echoing back request made to /hello") } }, "\(logs)")

        // Reconciling the same snapshot again keeps the pods: same names and addresses, no restart.
        let again = await w.reconcile(snapshot)
        #expect(again == diags)
        #expect(w.pods == pods)
        #expect(starts.withLockedValue { $0 } == Dictionary(uniqueKeysWithValues: pods.map { ($0.name, 1) }))
        // Still the same servers: the log kept its lines.
        #expect(w.logs(ofPodsWithLabels: ["app": "infra-backend-v1"], namespace: ns) == logs)
    }

    @Test("names and addresses are deterministic across instances")
    func deterministic() async throws {
        let ns = WL.namespace("det")
        let snapshot = WL.snapshot(WL.deployment("det", ns: ns, replicas: 2))
        let a = LocalWorkloads(group: WL.group)
        _ = await a.reconcile(snapshot)
        let first = a.pods
        await a.stopAll()
        #expect(a.pods.isEmpty)
        let b = LocalWorkloads(group: WL.group)
        _ = await b.reconcile(snapshot)
        let second = b.pods
        await b.stopAll()
        #expect(first.map(\.name) == second.map(\.name))
        #expect(first.map(\.address) == second.map(\.address))
        #expect(first.count == 2 && first[0].address == LocalWorkloads.preferredAddress(namespace: ns, deployment: "det", replica: 0))
    }

    @Test("scaling 2 → 1 stops the highest replica; 1 → 3 starts two; a template change restarts at the same addresses")
    func scaling() async throws {
        let ns = WL.namespace("scale")
        let w = LocalWorkloads(group: WL.group)
        defer { Task { await w.stopAll() } }
        let svc = WL.service("web", ns: ns, selector: "web")
        _ = await w.reconcile(WL.snapshot(WL.deployment("web", ns: ns, replicas: 2), svc))
        let two = w.pods
        try #require(two.count == 2)

        _ = await w.reconcile(WL.snapshot(WL.deployment("web", ns: ns, replicas: 1), svc))
        let one = w.pods
        try #require(one.count == 1)
        #expect(one[0] == two[0], "replica 0 keeps running untouched")
        let gone = two[1]
        #expect(w.pod(at: gone.address) == nil)
        let refused = await (try? RawHTTP.get(gone.address, 3000, "/")) == nil
        #expect(refused, "the stopped pod no longer listens")
        let kept = try await RawHTTP.get(one[0].address, 3000, "/")
        #expect(kept.status == 200)
        #expect(w.endpointSlices(for: [WL.snapshot(svc).services[0]]).first?.endpoints?.count == 1)

        _ = await w.reconcile(WL.snapshot(WL.deployment("web", ns: ns, replicas: 3), svc))
        let three = w.pods
        #expect(three.count == 3)
        #expect(three[0] == one[0])
        #expect(three.allSatisfy { $0.ready })

        // A changed template (new env) restarts every pod: new hash and names, same addresses.
        _ = await w.reconcile(WL.snapshot(WL.deployment("web", ns: ns, replicas: 3, extraEnv: [("SERVICE_NAME", "web")]), svc))
        let changed = w.pods
        #expect(changed.count == 3)
        #expect(changed.map(\.address) == three.map(\.address))
        #expect(Set(changed.map(\.templateHash)).count == 1 && changed[0].templateHash != three[0].templateHash)
        #expect(Set(changed.map(\.name)).isDisjoint(with: three.map(\.name)))
        let r = try await RawHTTP.get(changed[0].address, 3000, "/")
        #expect(r.json?["pod"] as? String == changed[0].name)

        // Deployment removed: everything stops.
        _ = await w.reconcile(WL.snapshot(svc))
        #expect(w.pods.isEmpty)
        #expect(w.endpointSlices(for: WL.snapshot(svc).services).isEmpty)
    }

    @Test("a non-echo image gets a clear diagnostic naming the Services that need EndpointSlices")
    func foreignImage() async throws {
        let ns = WL.namespace("foreign")
        let w = LocalWorkloads(group: WL.group)
        let snapshot = WL.snapshot(
            WL.deployment("db", ns: ns, replicas: 1, image: "docker.io/library/postgres:16"),
            WL.service("db", ns: ns, selector: "db", port: 5432, targetPort: "5432"))
        let diags = await w.reconcile(snapshot)
        defer { Task { await w.stopAll() } }
        // The pod exists as an identity only: an address, never ready, no synthesised endpoints.
        #expect(w.pods.count == 1 && w.pods.allSatisfy { $0.identityOnly && !$0.ready && $0.listeningPorts.isEmpty })
        #expect(w.endpointSlices(for: snapshot.services).isEmpty)
        #expect(w.identities(snapshot).identity(sourceAddress: w.pods[0].address)?.namespace == ns)
        try #require(diags.count == 1, "\(diags)")
        #expect(diags[0].severity == .warning)
        #expect(diags[0].message == "Deployment \(ns)/db runs image docker.io/library/postgres:16, which Sluice cannot run locally: give Service \(ns)/db EndpointSlices (label kubernetes.io/service-name) listing its endpoints",
                "\(diags[0].message)")
        #expect(diags[0].location?.file == "test.yaml")

        // With a slice of its own the Service needs nothing from us: only an info remains.
        var withSlice = snapshot
        withSlice.endpointSlices.append(EndpointSlice(metadata: ObjectMeta(name: "db-1", namespace: ns, labels: [EndpointSlice.serviceNameLabel: "db"]),
                                                      endpoints: [Endpoint(addresses: ["127.0.0.9"])], ports: [EndpointPort(port: 5432)]))
        let quiet = await w.reconcile(withSlice)
        #expect(quiet.allSatisfy { $0.severity == .info }, "\(quiet)")
    }

    @Test("image matching: echo-basic, echo-advanced (any registry/tag/digest), sluice/echo")
    func imageMatching() {
        #expect(LocalWorkloads.echoFlavor(image: "registry.k8s.io/gateway-api/conformance/echo-basic:v0.1.0") == .basic)
        #expect(LocalWorkloads.echoFlavor(image: "gcr.io/k8s-staging-gateway-api/echo-basic:v20240412-v1.0.0-394-g40c666fd") == .basic)
        #expect(LocalWorkloads.echoFlavor(image: "gcr.io/k8s-staging-gateway-api/echo-advanced:v1") == .advanced)
        #expect(LocalWorkloads.echoFlavor(image: "localhost:5000/echo-basic") == .basic)
        #expect(LocalWorkloads.echoFlavor(image: "x/echo-basic@sha256:abcd") == .basic)
        #expect(LocalWorkloads.echoFlavor(image: "sluice/echo:latest") == .basic)
        #expect(LocalWorkloads.echoFlavor(image: "ghcr.io/sluice/echo", args: ["--flavor=advanced"]) == .advanced)
        #expect(LocalWorkloads.echoFlavor(image: "nginx:1.27") == nil)
        #expect(LocalWorkloads.echoFlavor(image: "registry.k8s.io/echo-basic-x:v1") == nil)
        #expect(LocalWorkloads.echoFlavor(image: "registry.k8s.io/coredns/coredns:v1.14.6") == nil)
    }

    @Test("echo-advanced with the mesh manifests' args serves --port 8080 (not the --tls one); Hostname is the pod")
    func advanced() async throws {
        let ns = WL.namespace("adv")
        let w = LocalWorkloads(group: WL.group)
        defer { Task { await w.stopAll() } }
        let snapshot = WL.snapshot(
            WL.deployment("echo-v1", ns: ns, replicas: 1, image: "registry.k8s.io/gateway-api/conformance/echo-advanced:v0.1.0",
                          ports: "            - containerPort: 8080\n            - containerPort: 8443\n",
                          args: ["--tcp=9090", "--port=8080", "--grpc=7070", "--port=8443", "--tls=8443", "--crt=/cert.crt", "--key=/cert.key"]),
            WL.service("echo-v1", ns: ns, selector: "echo-v1", port: 80, targetPort: "8080", portName: "http"))
        let diags = await w.reconcile(snapshot)
        #expect(diags.allSatisfy { $0.severity == .info }, "\(diags)")
        #expect(diags.contains { $0.message.contains("https:8443") }, "the unserved listeners are named: \(diags)")
        let pod = try #require(w.pods.first)
        #expect(pod.ready && pod.listeningPorts == [8080])
        let r = try await RawHTTP.get(pod.address, 8080, "/")
        #expect(r.status == 200)
        #expect(r.body.contains("Hostname=\(pod.name)"), "\(r.body)")
    }

    @Test("an echo mode that is not implemented: the pod is listed not ready, its endpoint not ready, and a warning says why")
    func notImplementedMode() async throws {
        let ns = WL.namespace("grpc")
        let w = LocalWorkloads(group: WL.group)
        defer { Task { await w.stopAll() } }
        let snapshot = WL.snapshot(WL.deployment("grpc", ns: ns, replicas: 1, extraEnv: [("GRPC_ECHO_SERVER", "1")]),
                                   WL.service("grpc", ns: ns, selector: "grpc"))
        let diags = await w.reconcile(snapshot)
        let pod = try #require(w.pods.first)
        #expect(!pod.ready && pod.problem?.contains("grpc mode is not implemented") == true, "\(pod)")
        #expect(diags.contains { $0.severity == .warning && $0.message.contains("not running locally") && $0.message.contains("grpc") }, "\(diags)")
        let slice = try #require(w.endpointSlices(for: snapshot.services).first)
        #expect(slice.endpoints?.count == 1 && slice.endpoints?.first?.isReady == false)
        // Not retried (it cannot succeed): the same pod on the next reconcile.
        _ = await w.reconcile(snapshot)
        #expect(w.pods == [pod])
    }

    @Test("Services: named targetPort not declared → no slice; selector must match; other namespaces and user slices are left alone")
    func sliceRules() async throws {
        let ns = WL.namespace("rules")
        let w = LocalWorkloads(group: WL.group)
        defer { Task { await w.stopAll() } }
        let snapshot = WL.snapshot(
            WL.deployment("app", ns: ns, replicas: 1),
            WL.service("named", ns: ns, selector: "app", targetPort: "nope"),
            WL.service("other", ns: ns, selector: "different"),
            WL.service("unnamed", ns: ns, selector: "app"),
            WL.service("mine", ns: ns, selector: "app"),
            WL.service("elsewhere", ns: ns + "-x", selector: "app"))
        _ = await w.reconcile(snapshot)
        let slices = w.endpointSlices(for: snapshot.services)
        #expect(slices.map { $0.serviceName ?? "" } == ["unnamed", "mine"])
        #expect(slices.first?.ports == [EndpointPort(name: "", port: 3000)])

        var withOwn = snapshot
        withOwn.endpointSlices.append(EndpointSlice(metadata: ObjectMeta(name: "mine-1", namespace: ns, labels: [EndpointSlice.serviceNameLabel: "mine"])))
        w.addEndpointSlices(to: &withOwn)
        #expect(withOwn.endpointSlices.map(\.metadata.name) == ["mine-1", "unnamed-local"])
    }
}

@Suite("sluice serve with local workloads")
struct ServeWorkloadTests {
    @Test("a folder with Gateway + HTTPRoute + Service + echo Deployment (no EndpointSlice) serves through the gateway to the echo pods")
    func endToEnd() async throws {
        let ns = WL.namespace("serve")
        let gateway = "wl-gw-\(WL.runID)-\(Int.random(in: 0..<1_000_000))"
        let port = WL.nextPort()
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("sluice-workloads-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        let yaml = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: GatewayClass
            metadata:
              name: sluice
            spec:
              controllerName: sluice.dev/gateway-controller
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata:
              name: \(gateway)
              namespace: \(ns)
            spec:
              gatewayClassName: sluice
              listeners:
              - name: http
                port: \(port)
                protocol: HTTP
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata:
              name: web
              namespace: \(ns)
            spec:
              parentRefs:
              - name: \(gateway)
              rules:
              - backendRefs:
                - name: infra-backend-v1
                  port: 8080
            ---
            \(WL.service("infra-backend-v1", ns: ns, selector: "infra-backend-v1"))
            ---
            \(WL.deployment("infra-backend-v1", ns: ns, replicas: 2))
            """
        try yaml.write(to: dir.appendingPathComponent("all.yaml"), atomically: true, encoding: .utf8)
        let pre = CheckReport.run(paths: [dir.path])
        #expect(!pre.diagnostics.contains { $0.severity == .error }, "\(pre.renderDiagnostics())")
        let address = try #require(pre.result.ir.gateways.first { $0.gateway.name == gateway }?.addresses.first)

        let (runtime, outcomes) = try await WL.startRuntime(paths: [dir.path], label: "sluice.workloads-test")
        do {
            #expect(outcomes.allSatisfy { $0.error == nil }, "\(outcomes.map { "\($0.address) \($0.error ?? "ok")" })")
            let pods = runtime.workloads.pods(matching: ["app": "infra-backend-v1"], namespace: ns)
            #expect(pods.count == 2 && pods.allSatisfy { $0.ready }, "\(pods)")
            let names = Set(pods.map(\.name))
            var seen: Set<String> = []
            var last = "no response"
            let served = await WL.poll(timeout: .seconds(5)) {
                let r: RawResponse
                do {
                    r = try await RawHTTP.get(address, port, "/via-gateway", host: "example.com")
                } catch {
                    last = "\(error)"
                    return false
                }
                last = "\(r.status) \(r.body)"
                guard r.status == 200, let json = r.json, let pod = json["pod"] as? String else { return false }
                #expect(json["namespace"] as? String == ns)
                #expect(names.contains(pod), "\(pod) is not one of \(names)")
                seen.insert(pod)
                return seen.count == 2
            }
            #expect(served, "requests through the Gateway reached both echo pods (saw \(seen)); last: \(last)\n\(runtime.diagnosticsText())\n\(runtime.configDump())")
            #expect(!runtime.diagnosticsText().contains("EndpointSlice"), "\(runtime.diagnosticsText())")
        }
        await runtime.shutdown()
        for p in runtime.workloads.pods { Issue.record("still running after shutdown: \(p)") }
    }
}

@Suite("Local workloads on the conformance base manifests")
struct ConformanceBaseWorkloadTests {
    @Test("base/gateway.yaml + base/mesh.yaml: every HTTP echo replica runs and is ready; the rest is reported",
          .enabled(if: FileManager.default.fileExists(atPath: conformanceBase.appendingPathComponent("gateway.yaml").path)))
    func base() async throws {
        let loaded = Loader.load(paths: [conformanceBase.appendingPathComponent("gateway.yaml").path,
                                         conformanceBase.appendingPathComponent("mesh.yaml").path])
        let (snapshot, _) = ResourceSnapshot.build(from: loaded.objects)
        let w = LocalWorkloads(group: WL.group)
        let diags = await w.reconcile(snapshot)
        defer { Task { await w.stopAll() } }
        let pods = w.pods
        let expected = snapshot.deployments.filter {
            $0.spec.template.spec.containers.contains { LocalWorkloads.echoFlavor(image: $0.image ?? "") != nil }
        }.reduce(0) { $0 + $1.spec.replicas }
        let identityOnly = pods.filter(\.identityOnly)
        #expect(pods.count - identityOnly.count == expected, "\(pods.count - identityOnly.count) of \(expected)")
        #expect(identityOnly.allSatisfy { !$0.ready }, "pods of other images are identities only")
        #expect(Set(pods.map(\.address)).count == pods.count, "addresses are distinct")
        let v1 = w.pods(matching: ["app": "infra-backend-v1"], namespace: "gateway-conformance-infra")
        #expect(v1.count == 2 && v1.allSatisfy { $0.ready })
        let mesh = w.pods(matching: ["app": "echo"], namespace: "gateway-conformance-mesh")
        #expect(!mesh.isEmpty && mesh.allSatisfy { $0.ready && $0.listeningPorts == [8080] })
        // Not-implemented modes (gRPC, TCP, UDP) are listed, not ready, with a warning each.
        let notReady = pods.filter { !$0.ready && !$0.identityOnly }
        for p in notReady {
            #expect(diags.contains { $0.severity == .warning && $0.message.contains("Deployment \(p.namespace)/\(p.deployment):") }, "\(p)")
        }
        let slices = w.endpointSlices(for: snapshot.services)
        #expect(slices.contains { $0.serviceName == "infra-backend-v1" && ($0.endpoints ?? []).filter(\.isReady).count == 2 })
        print("[workloads] base: \(pods.count) pods, \(notReady.count) not ready, \(slices.count) slices")
        for d in diags { print("[workloads] \(d)") }
    }
}

/// ../shared/conformance/base (absent outside the workspace: the test is then disabled).
let conformanceBase = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/conformance/base")
