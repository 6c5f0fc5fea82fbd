import Foundation
import Testing
@testable import GatewayAPI

@Suite struct BadInputTests {
    func show(_ name: String, _ text: String) {
        let r = Loader.load(texts: [(file: "f.yaml", text: text)])
        print("=== \(name): objects=\(r.objects.map { "\($0.key)@\($0.location)" })")
        for d in r.diagnostics { print("  " + d.description) }
    }
    @Test func probe() {
        show("unclosed", """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
        data:
          k: "unclosed
          j: x
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: b
        """)
        show("unclosed-single", """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: 'a
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: b
        """)
        show("badindent", """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
         namespace: x
        data: {}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: b
        """)
        show("badindent2", """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
            namespace: x
        """)
        show("alias", """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: &n a
          labels:
            x: *n
        """)
        var deep = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: "
        deep += String(repeating: "[", count: 150) + String(repeating: "]", count: 150)
        show("deep150", deep)
        var deep2 = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: "
        deep2 += String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        show("deep5000", deep2)
        var deep3 = "a:\n"
        for i in 1..<150 { deep3 += String(repeating: " ", count: i) + "a:\n" }
        show("deepblock", deep3)
        show("scalar", "just a string\n")
        show("seq", "- a\n- b\n")
        show("unknownnested", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: a
          foo:
            bar: 1
        spec:
          controllerName: x.io/y
          foo:
            bar: 1
        """)
        show("unserved", """
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: Gateway
        metadata:
          name: web
        spec: {}
        """)
        show("bom", "\u{FEFF}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
        show("crlf", "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: 7\r\n")
        show("tabjson", "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"ConfigMap\",\n\t\"metadata\": {\n\t\t\"name\": \"a\"\n\t}\n}\n")
        show("gcns", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: a
          namespace: foo
        spec:
          controllerName: x.io/y
        """)
        let (s, d) = ResourceSnapshot.load(texts: [(file: "g.yaml", text: """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: a
          namespace: foo
        spec:
          controllerName: x.io/y
        """)])
        print("GC ns", s.gatewayClasses.first?.metadata.namespace as Any, d)
    }
}
