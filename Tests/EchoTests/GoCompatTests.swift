import Testing

@testable import Echo

@Suite("Go compatibility helpers")
struct GoCompatTests {
    @Test(arguments: [
        ("1s", Int64(1_000_000_000)), ("300ms", 300_000_000), ("0.1s", 100_000_000), ("1m30s", 90_000_000_000),
        ("0", 0), ("-1.5h", -5_400_000_000_000), ("+2us", 2_000), ("2µs", 2_000), ("1h2m3s4ms5us6ns", 3_723_004_005_006),
        (".5s", 500_000_000), ("1.s", 1_000_000_000),
    ])
    func durationParses(text: String, nanos: Int64) throws {
        #expect(try GoDuration.parse(text).get() == nanos)
    }

    @Test func durationErrors() {
        #expect(GoDuration.parse("abc") == .failure(.init(message: "time: invalid duration \"abc\"")))
        #expect(GoDuration.parse("") == .failure(.init(message: "time: invalid duration \"\"")))
        #expect(GoDuration.parse("1") == .failure(.init(message: "time: missing unit in duration \"1\"")))
        #expect(GoDuration.parse("1x") == .failure(.init(message: "time: unknown unit \"x\" in duration \"1x\"")))
        #expect(GoDuration.parse(".s") == .failure(.init(message: "time: invalid duration \".s\"")))
        #expect(GoDuration.parse("-") == .failure(.init(message: "time: invalid duration \"-\"")))
        #expect(GoDuration.parse("9999999999h") == .failure(.init(message: "time: invalid duration \"9999999999h\"")))
    }

    @Test func canonicalNames() {
        #expect(canonicalHeaderName("x-foo-bar") == "X-Foo-Bar")
        #expect(canonicalHeaderName("backend") == "Backend")
        #expect(canonicalHeaderName("X-FOO") == "X-Foo")
        #expect(canonicalHeaderName("x_foo") == "X_foo")
        #expect(canonicalHeaderName("bad name") == "bad name")
        #expect(canonicalHeaderName("www-authenticate") == "Www-Authenticate")
    }

    @Test func queryParsing() {
        let q = GoQuery(target: "/p?a=1&a=2&b=x+y%21&c&bad=%zz&d;e=1&=v")
        #expect(q.values["a"] == ["1", "2"])
        #expect(q.first("b") == "x y!")
        #expect(q.first("c") == "")
        #expect(q.first("bad") == nil)
        #expect(q.first("d;e") == nil)
        #expect(q.first("") == "v")
        #expect(GoQuery(target: "/p").values.isEmpty)
    }

    @Test func jsonEscaping() {
        #expect(jsonString("a\"b\\c\n<&>\u{1}") == "\"a\\\"b\\\\c\\n\\u003c\\u0026\\u003e\\u0001\"")
    }

    @Test func atoi() {
        #expect(goAtoi("12") == 12)
        #expect(goAtoi("-3") == -3)
        #expect(goAtoi("+4") == 4)
        #expect(goAtoi("") == nil)
        #expect(goAtoi("1.0") == nil)
        #expect(goAtoi(" 1") == nil)
    }
}
