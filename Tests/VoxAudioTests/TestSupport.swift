import Foundation
import XCTest
@testable import VoxAudio

/// A fresh temporary folder per test, removed afterwards.
func makeTemporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Deterministic white noise in [-amplitude, amplitude].
func noise(_ n: Int, amplitude: Float = 0.5, seed: UInt64 = 1) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return (Float(s >> 40) / 16_777_216 * 2 - 1) * amplitude
    }
}

func sine(_ n: Int, frequency: Double, sampleRate: Double, amplitude: Float = 0.5, phase: Double = 0) -> [Float] {
    (0..<n).map { amplitude * Float(sin(2 * .pi * frequency * Double($0) / sampleRate + phase)) }
}

/// Values on the `bits`-bit integer grid, covering the full range including both extremes.
func gridSamples(_ n: Int, bits: Int, seed: UInt64) -> [Float] {
    let scale = Float(1 << (bits - 1))
    var v = noise(n, amplitude: 1, seed: seed).map { ($0 * scale).rounded(.down) / scale }
    v[0] = -1; v[1] = (scale - 1) / scale
    return v
}

/// Bytes of a minimal WAV file holding 32-bit float samples (for fixtures our writer refuses to make, e.g. NaN).
func floatWAVBytes(_ interleaved: [Float], channels: Int, sampleRate: Int) -> Data {
    var d = Data()
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    let dataBytes = UInt32(interleaved.count * 4)
    d.append(contentsOf: Array("RIFF".utf8)); u32(36 + dataBytes); d.append(contentsOf: Array("WAVE".utf8))
    d.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(3); u16(UInt16(channels)); u32(UInt32(sampleRate))
    u32(UInt32(sampleRate * channels * 4)); u16(UInt16(channels * 4)); u16(32)
    d.append(contentsOf: Array("data".utf8)); u32(dataBytes)
    for v in interleaved { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
    return d
}

/// Files in `dir` (hidden ones included), to check that nothing was left behind.
func listing(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

func assertThrowsAudioError(_ kind: AudioError.Kind, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
    do {
        try body()
        XCTFail("expected AudioError.\(kind)", file: file, line: line)
    } catch let error as AudioError {
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// SNR in dB of `estimate` against `reference`.
func snrDB(_ reference: ArraySlice<Float>, _ estimate: ArraySlice<Float>) -> Double {
    var s = 0.0, e = 0.0
    for (r, x) in zip(reference, estimate) { s += Double(r) * Double(r); e += Double(r - x) * Double(r - x) }
    return 10 * log10(s / max(e, 1e-300))
}
