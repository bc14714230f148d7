import Foundation

/// Prints a value as pretty, key-sorted JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// A level in dB that is `nil` (JSON null) for −∞ (digital silence).
func finiteOrNil(_ v: Double) -> Double? { v.isFinite ? (v * 100).rounded() / 100 : nil }
