// libFuzzer target: the YAML loader and validator, then decoding and translation.
// Built and run by fuzz/run.sh yaml-loader (fuzz/README.md).
import Foundation
import GatewayAPI
import Translator

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Bytes that are not UTF-8 are the file reader's business (Loader.decodeUTF8): check it too.
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text: String
    if let valid = String(validating: bytes, as: UTF8.self) {
        text = valid
    } else {
        guard case .failure(let d) = Loader.decodeUTF8(Data(bytes), file: "fuzz.yaml") else {
            fatalError("invalid UTF-8 accepted")
        }
        precondition(d.location?.line ?? 0 >= 1, "no line for invalid UTF-8: \(d)")
        text = String(decoding: bytes, as: UTF8.self)
    }
    let loaded = Loader.load(texts: [(file: "fuzz.yaml", text: text)], limits: LoadLimits(maxObjects: 64))
    // The contract of issue 14: every problem names the file and a line.
    for d in loaded.diagnostics {
        guard let at = d.location, at.file == "fuzz.yaml", at.line >= 1 else {
            fatalError("diagnostic without file:line: \(d)")
        }
    }
    let (snapshot, _) = ResourceSnapshot.build(from: loaded.objects)
    _ = translate(snapshot)
    return 0
}
