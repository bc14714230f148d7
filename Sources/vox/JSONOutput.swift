import ArgumentParser
import Foundation
import VoxAudio

/// Prints a value as pretty, key-sorted JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// A level in dB that is `nil` (JSON null) for −∞ (digital silence).
func finiteOrNil(_ v: Double) -> Double? { v.isFinite ? (v * 100).rounded() / 100 : nil }

/// The loop of the commands that report on several files (`info`, `loudness`, `watermark detect`): `report` makes
/// each file's report (and prints its text form unless `json`); a file that fails with an `AudioError` gets
/// `failed(path, message)` as its report and a one-line error on stderr, and the others still run. With `json` the
/// reports are printed as one array. Exit status 1 if any file failed.
func reportEachFile<Report: Encodable>(_ files: [String], json: Bool, failed: (String, String) -> Report,
                                       _ report: (String) throws -> Report) throws {
    var reports = [Report]()
    var failures = 0
    for path in files {
        do {
            reports.append(try report(path))
        } catch let error as AudioError {
            failures += 1
            reports.append(failed(path, error.message))
            FileHandle.standardError.write("Error: \(error)\n".data(using: .utf8)!)
        }
    }
    if json { try printJSON(reports) }
    if failures > 0 { throw ExitCode(1) }
}

/// `--loudness`: a target in LUFS, or nil for "off".
/// - Throws: `.invalidArgument` for anything else.
func parseLoudnessTarget(_ value: String) throws -> Double? {
    if value.lowercased() == "off" { return nil }
    guard let l = Double(value) else {
        throw AudioError(.invalidArgument, "--loudness must be a number of LUFS (e.g. -14) or off, not '\(value)'")
    }
    return l
}
