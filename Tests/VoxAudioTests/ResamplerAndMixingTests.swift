import Foundation
import XCTest
@testable import VoxAudio

final class ResamplerAndMixingTests: XCTestCase {
    func testSineThereAndBackKeeps90dBSNR() throws {
        let n = 44100
        let x = sine(n, frequency: 1000, sampleRate: 44100, amplitude: 0.5)
        let up = try Resampler.resample(AudioBuffer(channels: [x], sampleRate: 44100), to: 48000)
        XCTAssertEqual(up.frameCount, 48000)
        let back = try Resampler.resample(up, to: 44100)
        XCTAssertEqual(back.frameCount, n)
        // Ignore the filter's start-up and tail (the signal starts and stops abruptly).
        let snr = snrDB(x[2000..<(n - 2000)], back.channels[0][2000..<(n - 2000)])
        XCTAssertGreaterThanOrEqual(snr, 90, "SNR \(snr) dB")
        // And at 48 kHz the sine is where it should be.
        let expected = sine(48000, frequency: 1000, sampleRate: 48000, amplitude: 0.5)
        XCTAssertGreaterThanOrEqual(snrDB(expected[2000..<46000], up.channels[0][2000..<46000]), 90)
    }

    func testStreamingResamplerMatchesLengthAndWholeResult() throws {
        let x = AudioBuffer(channels: [noise(30011, seed: 4), noise(30011, seed: 5)], sampleRate: 44100)
        let whole = try Resampler.resample(x, to: 22050)
        let r = try Resampler(inputRate: 44100, outputRate: 22050, channelCount: 2)
        var out = AudioBuffer(frameCount: 0, channelCount: 2, sampleRate: 22050)
        var start = 0
        for size in [1, 500, 7000, 1, 4096, 100000] {
            let end = min(x.frameCount, start + size)
            out.append(r.process(x.slice(start..<end)))
            start = end
        }
        out.append(r.finish())
        XCTAssertEqual(out.frameCount, 15006)  // round(30011 / 2)
        XCTAssertEqual(whole.frameCount, out.frameCount)
        XCTAssertGreaterThan(snrDB(whole.channels[1][100...], out.channels[1][100...]), 100)
    }

    func testRemixRules() {
        let l: [Float] = [1, 0.5], r: [Float] = [0, -0.5]
        let stereo = AudioBuffer(channels: [l, r], sampleRate: 8000)
        XCTAssertEqual(ChannelMixer.remix(stereo, to: 1).channels, [[0.5, 0]])
        let mono = AudioBuffer(channels: [[0.25, -1]], sampleRate: 8000)
        XCTAssertEqual(ChannelMixer.remix(mono, to: 2).channels, [[0.25, -1], [0.25, -1]])
        XCTAssertEqual(ChannelMixer.remix(stereo, to: 4).channels, [l, r, [0, 0], [0, 0]])
        // 5.1: L R C LFE Ls Rs; the LFE is dropped and nothing can exceed full scale.
        let surround = AudioBuffer(channels: [[1], [0], [1], [1], [1], [0]], sampleRate: 8000)
        let down = ChannelMixer.remix(surround, to: 2)
        XCTAssertEqual(down.channels[0][0], 1, accuracy: 1e-6)
        XCTAssertEqual(down.channels[1][0], 0.70710678 / (1 + 2 * 0.70710678), accuracy: 1e-6)
        let quad = AudioBuffer(channels: [[1], [0], [0], [1]], sampleRate: 8000)
        XCTAssertEqual(ChannelMixer.remix(quad, to: 2).channels, [[0.5], [0.5]])
    }

    func testDitherIsTriangularAndQuantizationExactOnGrid() {
        var d = TPDFDither()
        var sum = 0.0, sumSq = 0.0, maxAbs: Float = 0
        let n = 200_000
        for _ in 0..<n { let v = d.next(); sum += Double(v); sumSq += Double(v * v); maxAbs = max(maxAbs, abs(v)) }
        XCTAssertEqual(sum / Double(n), 0, accuracy: 0.01)
        XCTAssertEqual(sumSq / Double(n), 1.0 / 6.0, accuracy: 0.01)  // variance of TPDF over (-1, 1)
        XCTAssertLessThan(maxAbs, 1)

        let grid = gridSamples(1000, bits: 16, seed: 8)
        var out = [Int32](repeating: 0, count: grid.count)
        var none: TPDFDither? = nil
        _ = grid.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { quantize(src, into: $0, bits: 16, dither: &none) } }
        for (x, q) in zip(grid, out) { XCTAssertEqual(Float(q) / 2147483648, x) }

        // Dithered requantisation of a constant between grid points averages to it.
        let value: Float = 0.3 / 32768
        let constant = [Float](repeating: value, count: 100_000)
        var dq: TPDFDither? = TPDFDither()
        var dOut = [Int32](repeating: 0, count: constant.count)
        _ = constant.withUnsafeBufferPointer { src in dOut.withUnsafeMutableBufferPointer { quantize(src, into: $0, bits: 16, dither: &dq) } }
        let mean = dOut.reduce(0.0) { $0 + Double($1 >> 16) } / Double(dOut.count)
        XCTAssertEqual(mean, 0.3, accuracy: 0.02)
    }

    func testConversionCopiesBitExactAndConvertsRate() throws {
        let dir = try makeTemporaryDirectory()
        let src = "\(dir)/src.wav"
        let b = AudioBuffer(channels: [gridSamples(20000, bits: 16, seed: 21), gridSamples(20000, bits: 16, seed: 22)], sampleRate: 44100)
        try AudioFileWriter.write(b, to: src, format: AudioFileFormat(container: .wav, encoding: .pcm16))

        let copy = try FileConversion(container: .flac).run(inputPath: src, outputPath: "\(dir)/copy.flac")
        XCTAssertFalse(copy.dithered)
        XCTAssertEqual(copy.encoding, "16")
        XCTAssertEqual(try AudioFileReader.read(path: "\(dir)/copy.flac"), b)

        var c = FileConversion(container: .wav, encoding: .pcm24, sampleRate: 48000, channelCount: 1)
        c.blockFrames = 3000
        let s = try c.run(inputPath: src, outputPath: "\(dir)/mono48.wav")
        XCTAssertTrue(s.dithered)
        let out = try AudioFileReader(path: "\(dir)/mono48.wav")
        XCTAssertEqual(out.info.sampleRate, 48000)
        XCTAssertEqual(out.info.channelCount, 1)
        XCTAssertEqual(out.info.frameCount, 21769)  // round(20000 · 48000 / 44100)
        XCTAssertEqual(out.info.integerBits, 24)
    }
}
