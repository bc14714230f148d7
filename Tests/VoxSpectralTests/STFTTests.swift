import Foundation
import XCTest
import VoxAudio
@testable import VoxSpectral

private func noise(_ n: Int, seed: UInt64) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in s ^= s << 13; s ^= s >> 7; s ^= s << 17; return Float(s >> 40) / 16_777_216 - 0.5 }
}

private func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

final class FFTTests: XCTestCase {
    func testMatchesDirectDFTForEvenAndOddSizes() {
        for n in [8, 12, 15, 64, 100] {
            let x = noise(n, seed: UInt64(n))
            let fft = RealFFT(size: n)
            let X = fft.forward(x)
            XCTAssertEqual(X.count, 2 * (n / 2 + 1))
            for k in 0...(n / 2) {
                var re = 0.0, im = 0.0
                for t in 0..<n {
                    let a = -2 * Double.pi * Double(k * t) / Double(n)
                    re += Double(x[t]) * cos(a); im += Double(x[t]) * sin(a)
                }
                XCTAssertEqual(Double(X[2 * k]), re, accuracy: 1e-4, "n=\(n) k=\(k)")
                XCTAssertEqual(Double(X[2 * k + 1]), im, accuracy: 1e-4, "n=\(n) k=\(k)")
            }
            XCTAssertLessThan(maxAbsDiff(fft.inverse(X), x), 1e-6)
        }
    }

    func testPlansAreSharedSafelyAcrossThreads() {
        let x = noise(1024, seed: 3)
        let reference = RealFFT(size: 1024).forward(x)
        let results = UnsafeSendablePointer(UnsafeMutablePointer<Float>.allocate(capacity: 8))
        defer { results.pointer.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let sizes = [1024, 480, 4096, 1000]
            let fft = RealFFT(size: sizes[i % 4])
            let y = fft.forward(i % 4 == 0 ? x : noise(sizes[i % 4], seed: 9))
            results.pointer[i] = i % 4 == 0 ? maxAbsDiff(y, reference) : 0
        }
        XCTAssertEqual(UnsafeBufferPointer(start: results.pointer, count: 8).max(), 0)
    }
}

final class STFTTests: XCTestCase {
    func testCOLACheck() throws {
        let hann = WindowFunction.hann.samples(size: 1024)
        XCTAssertLessThan(WindowOverlap(window: hann, hop: 256).colaDeviation, 1e-6)
        XCTAssertLessThan(WindowOverlap(window: hann, hop: 128).colaDeviation, 1e-6)
        // Hann² at 50 % overlap is not constant (sin⁴ + cos⁴) but still invertible.
        XCTAssertEqual(WindowOverlap(window: hann, hop: 512).colaDeviation, 0.5, accuracy: 1e-3)
        XCTAssertTrue(WindowOverlap(window: hann, hop: 512).isInvertible)
        XCTAssertGreaterThan(WindowOverlap(window: hann, hop: 700).colaDeviation, 0.1)
        XCTAssertThrowsError(try STFTConfiguration(fftSize: 1024, hopSize: 1024, window: .hann))
        XCTAssertThrowsError(try STFTConfiguration(fftSize: 1024, hopSize: 2048))
        XCTAssertNoThrow(try STFTConfiguration(fftSize: 1024, hopSize: 1024, window: .rectangular))
    }

    func testFrameCountsAndShapes() throws {
        let cfg = try STFTConfiguration(fftSize: 512, hopSize: 128)
        let spec = ShortTimeFourierTransform(configuration: cfg).forward(AudioBuffer(channels: [noise(1000, seed: 1), noise(1000, seed: 2)], sampleRate: 8000))
        XCTAssertEqual(spec.frameCount, 1000 / 128 + 1)
        XCTAssertEqual(spec.binCount, 257)
        XCTAssertEqual(spec.data.count, 2 * 2 * spec.frameCount * 257)
    }

    /// Perfect reconstruction ≤ 1e-5 on noise and sines, centred, for several sizes (powers of two and not).
    func testPerfectReconstruction() throws {
        let n = 20011
        let sig = [noise(n, seed: 11), (0..<n).map { Float(0.8 * sin(0.0371 * Double($0))) }]
        for (fft, hop, window) in [(4096, 1024, WindowFunction.hann), (1024, 256, .hann), (1000, 250, .hann),
                                   (512, 128, .hamming), (2048, 512, .blackman), (777, 100, .hann), (256, 256, .rectangular)] {
            let cfg = try STFTConfiguration(fftSize: fft, hopSize: hop, window: window)
            let t = ShortTimeFourierTransform(configuration: cfg)
            let x = AudioBuffer(channels: sig, sampleRate: 44100)
            let y = t.inverse(t.forward(x), length: n)
            XCTAssertEqual(y.frameCount, n)
            for c in 0..<2 {
                let err = maxAbsDiff(y.channels[c], x.channels[c])
                XCTAssertLessThanOrEqual(err, 1e-5, "fft \(fft) hop \(hop) \(window) channel \(c): \(err)")
            }
        }
    }

    func testUncentredReconstructsAwayFromTheStart() throws {
        let n = 10000
        let x = AudioBuffer(channels: [noise(n, seed: 5)], sampleRate: 16000)
        let cfg = try STFTConfiguration(fftSize: 512, hopSize: 128, center: false)
        let t = ShortTimeFourierTransform(configuration: cfg)
        let spec = t.forward(x)
        XCTAssertEqual(spec.frameCount, cfg.frameCount(forSamples: n))
        let y = t.inverse(spec, length: n)
        // The periodic Hann window is 0 at its first sample and tiny just after, so the first samples are
        // recovered only as well as the window lets them be.
        XCTAssertLessThanOrEqual(maxAbsDiff(Array(y.channels[0][16...]), Array(x.channels[0][16...])), 1e-4)
        XCTAssertLessThanOrEqual(maxAbsDiff(Array(y.channels[0][512...]), Array(x.channels[0][512...])), 1e-5)
    }

    /// TensorFlow framing (Spleeter): `fftSize` zeros before the signal, frames until one starts past the end.
    func testLeadingPaddingFraming() throws {
        let cfg = try STFTConfiguration(fftSize: 4096, hopSize: 1024, center: false, leadingPadding: 4096)
        XCTAssertEqual(cfg.frameStart(0), -4096)
        XCTAssertEqual(cfg.frameCount(forSamples: 10000), 14)  // ⌈(10000 + 4096) / 1024⌉
        let x = AudioBuffer(channels: [noise(10000, seed: 3)], sampleRate: 44100)
        let t = ShortTimeFourierTransform(configuration: cfg)
        let spec = t.forward(x)
        XCTAssertTrue(spec.data[0..<(2 * spec.binCount)].allSatisfy { $0 == 0 }, "frame 0 lies entirely in the padding")
        XCTAssertLessThan(maxAbsDiff(t.inverse(spec, length: 10000).channels[0], x.channels[0]), 1e-5)
    }

    func testSinePeaksInTheRightBin() throws {
        let cfg = try STFTConfiguration(fftSize: 1024, hopSize: 256)
        let sr = 16000.0
        let x = AudioBuffer(channels: [(0..<8000).map { Float(sin(2 * Double.pi * 1000 * Double($0) / sr)) }], sampleRate: sr)
        let spec = ShortTimeFourierTransform(configuration: cfg).forward(x)
        let t = spec.frameCount / 2
        let o = spec.offset(channel: 0, frame: t)
        let mags = (0..<spec.binCount).map { k in hypot(spec.data[o + 2 * k], spec.data[o + 2 * k + 1]) }
        XCTAssertEqual(mags.firstIndex(of: mags.max()!), 64)  // 1000 Hz · 1024 / 16000
        XCTAssertEqual(Double(mags[64]), 256, accuracy: 1)  // Σw/2 = 1024/4 for a unit sine
    }

    func testStreamingEqualsWholeSignalBitForBit() throws {
        let n = 23456
        let x = AudioBuffer(channels: [noise(n, seed: 7), noise(n, seed: 8)], sampleRate: 44100)
        for (fft, hop, center, pad) in [(1024, 256, true, 0), (1000, 300, true, 0), (512, 128, false, 0), (512, 128, false, 512)] {
            let cfg = try STFTConfiguration(fftSize: fft, hopSize: hop, center: center, leadingPadding: pad)
            let whole = ShortTimeFourierTransform(configuration: cfg)
            let reference = whole.forward(x)
            let referenceOut = whole.inverse(reference, length: n)

            let analysis = StreamingSTFT(configuration: cfg, channelCount: 2, sampleRate: 44100)
            let synthesis = StreamingISTFT(configuration: cfg, channelCount: 2, sampleRate: 44100, length: n)
            var frames = [ComplexSpectrogram]()
            var out = AudioBuffer(frameCount: 0, channelCount: 2, sampleRate: 44100)
            var start = 0
            var sizes = [1, 17, 4096, 333, 1000, 5]
            var i = 0
            while start < n {
                let end = min(n, start + sizes[i % sizes.count])
                let f = analysis.push(x.slice(start..<end))
                frames.append(f)
                out.append(synthesis.push(f))
                start = end
                i += 1
            }
            let last = analysis.finish()
            frames.append(last)
            out.append(synthesis.push(last))
            out.append(synthesis.finish())
            sizes.removeAll()

            XCTAssertEqual(frames.reduce(0) { $0 + $1.frameCount }, reference.frameCount)
            // Re-assemble streamed frames in the whole-signal layout and compare exactly.
            var streamed = [Float]()
            for c in 0..<2 {
                for f in frames where f.frameCount > 0 {
                    streamed.append(contentsOf: f.data[f.offset(channel: c, frame: 0)..<f.offset(channel: c, frame: 0) + 2 * f.frameCount * f.binCount])
                }
            }
            XCTAssertEqual(streamed, reference.data, "fft \(fft) hop \(hop)")
            XCTAssertEqual(out, referenceOut, "fft \(fft) hop \(hop)")
            if center || pad == fft { XCTAssertLessThan(maxAbsDiff(out.channels[0], x.channels[0]), 1e-5) }
        }
    }

    func testStreamingISTFTWithoutKnownLength() throws {
        let cfg = try STFTConfiguration(fftSize: 256, hopSize: 64)
        let x = AudioBuffer(channels: [noise(3000, seed: 2)], sampleRate: 8000)
        let spec = ShortTimeFourierTransform(configuration: cfg).forward(x)
        let s = StreamingISTFT(configuration: cfg, channelCount: 1, sampleRate: 8000)
        var out = s.push(spec)
        out.append(s.finish(length: 3000))
        XCTAssertEqual(out.frameCount, 3000)
        XCTAssertLessThan(maxAbsDiff(out.channels[0], x.channels[0]), 1e-5)
    }
}
