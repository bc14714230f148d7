// vox-bench: timing and measurement driver for tools/bench (release build).
//
//   vox-bench stft [--seconds 180] [--channels 2] [--rate 44100] [--nfft 4096] [--hop 1024] [--repeat 3]
//       STFT → iSTFT round trip of deterministic noise (periodic Hann, centred), best of --repeat; one JSON line.
//   vox-bench unet [--window 512] [--scale 1] [--repeat 3]
//       time of one U-Net window (both stems in parallel) of the installed spleeter-2stems model: wall and process
//       CPU seconds per repeat, then the least CPU time (the steadiest figure on a shared machine).
//   vox-bench wiener
//       time of one Wiener EM iteration on a 2048-frame stereo window.
//   vox-bench offsets SONG [--window 2048] [--context 192 | --contexts] [--shift 320]
//       SNR between the vocals of two separations whose window grids differ by --shift frames (seam check),
//       and where in the song the two differ.
//   vox-bench dump-bundle CHECKPOINT_DIR
//       names and shapes of the float tensors in a TensorFlow checkpoint.
import Foundation
import VoxAudio
import VoxSpectral
import VoxSeparation

func option(_ name: String, _ fallback: Double) -> Double {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: "--" + name), i + 1 < args.count, let v = Double(args[i + 1]) { return v }
    return fallback
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// User + system CPU seconds of this process so far (all threads).
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

func benchSTFT() throws {
    let seconds = option("seconds", 180), channels = Int(option("channels", 2)), rate = option("rate", 44100)
    let nfft = Int(option("nfft", 4096)), hop = Int(option("hop", 1024)), repeats = Int(option("repeat", 3))
    let n = Int(seconds * rate)
    var state: UInt64 = 0x1234_5678_9ABC_DEF1
    let signal = AudioBuffer(channels: (0..<channels).map { _ in
        (0..<n).map { _ in state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (Float(state >> 40) / 16_777_216 - 0.5) * 0.2 }
    }, sampleRate: rate)
    let transform = ShortTimeFourierTransform(configuration: try STFTConfiguration(fftSize: nfft, hopSize: hop))
    _ = transform.forward(signal.slice(0..<min(n, 8 * nfft)))  // plan FFTW outside the timed region
    var best = (stft: Double.infinity, istft: Double.infinity)
    var maxError: Float = 0
    for _ in 0..<repeats {
        let t0 = now()
        let spec = transform.forward(signal)
        let t1 = now()
        let back = transform.inverse(spec, length: n)
        let t2 = now()
        best = (min(best.stft, t1 - t0), min(best.istft, t2 - t1))
        maxError = 0
        for c in 0..<channels {
            back.channels[c].withUnsafeBufferPointer { b in
                signal.channels[c].withUnsafeBufferPointer { s in
                    for i in 0..<n { maxError = max(maxError, abs(b[i] - s[i])) }
                }
            }
        }
    }
    let total = best.stft + best.istft
    print("{\"impl\": \"vox (Swift, FFTW float32, \(ProcessInfo.processInfo.activeProcessorCount) threads)\", \"stft_s\": \(best.stft), \"istft_s\": \(best.istft), \"total_s\": \(total), \"rtf\": \(total / seconds), \"max_abs_err\": \(maxError)}")
}

switch CommandLine.arguments.dropFirst().first {
case "stft": try benchSTFT()
case "unet":
    // Times one U-Net segment evaluation per stem, single-threaded, on random magnitudes.
    let (m, path) = try ModelStore.load("spleeter-2stems")
    let est = try SpleeterMaskEstimator(model: m, band: .full, windowFrames: Int(option("window", 512)), path: path)
    var state: UInt64 = 7
    let input = (0..<(est.segmentFrames * 1024 * 2)).map { _ in state ^= state << 13; state ^= state >> 7; state ^= state << 17; return Float(state >> 40) / 16_777_216 }
    let scale = Float(option("scale", 1))
    let scaled = input.map { $0 * scale }
    var leastCPU = Double.infinity
    for _ in 0..<Int(option("repeat", 3)) {
        let t0 = now(), c0 = cpuSeconds()
        _ = est.estimates(scaled)
        let cpu = cpuSeconds() - c0
        leastCPU = min(leastCPU, cpu)
        print("segment (2 stems in parallel): \(now() - t0) s wall, \(cpu) s CPU")
    }
    print("least CPU per segment: \(leastCPU) s")
case "offsets":
    // SNR between the vocals of two runs whose window grids are shifted by --shift frames.
    let (m, path) = try ModelStore.load("spleeter-2stems")
    let est = try SpleeterMaskEstimator(model: m, band: .full, windowFrames: Int(option("window", 512)), path: path)
    let mix = try AudioFileReader.read(path: CommandLine.arguments[2])
    for context in (CommandLine.arguments.contains("--contexts") ? [64, 128, 192, 256] : [Int(option("context", 64))]) {
        let sep = Separator(estimator: est, contextFrames: context)
        let a = try sep.separate(mix, windowOffset: 0)["vocals"]!
        let b = try sep.separate(mix, windowOffset: Int(option("shift", 128)) % (est.segmentFrames - 2 * context))["vocals"]!
        var s = 0.0, e = 0.0
        for c in 0..<a.channelCount { for i in 0..<a.frameCount { s += Double(a.channels[c][i] * a.channels[c][i]); let d = Double(a.channels[c][i] - b.channels[c][i]); e += d * d } }
        print("context \(context): SNR between grids \(10 * log10(s / e)) dB")
        // Error energy by second (where the two grids differ).
        let sr = Int(mix.sampleRate)
        var rows = [(Int, Double)]()
        for sec in 0..<(a.frameCount / sr) {
            var es = 0.0
            for c in 0..<a.channelCount { for i in (sec * sr)..<((sec + 1) * sr) { let d = Double(a.channels[c][i] - b.channels[c][i]); es += d * d } }
            rows.append((sec, es / e))
        }
        print("  error share by second: " + rows.map { "\($0.0):\(Int($0.1 * 100))%" }.joined(separator: " "))
    }
case "wiener":
    // Times one EM iteration on a 2048-frame stereo window of noise.
    let cfg = try STFTConfiguration(fftSize: 4096, hopSize: 1024)
    let T = 2048, bins = 2049
    var st: UInt64 = 3
    func r() -> Float { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return Float(st >> 40) / 16_777_216 - 0.5 }
    let data = (0..<(2 * T * bins * 2)).map { _ in r() }
    let mix = ComplexSpectrogram(configuration: cfg, channelCount: 2, frameCount: T, sampleRate: 44100, data: data)
    for _ in 0..<3 {
        var sources = [data.map { $0 * 0.3 }, data.map { $0 * 0.7 }]
        let t0 = now()
        WienerFilter(iterations: 1).refine(mixture: mix, sources: &sources)
        print("wiener 1 iteration, 2048 frames: \(now() - t0) s")
    }
case "dump-bundle":
    let dir = CommandLine.arguments[2]
    let t = try TensorBundle.read(indexPath: dir + "/model.index", dataPath: dir + "/model.data-00000-of-00001")
    for k in t.keys.sorted() { print(k, t[k]!.shape) }
default:
    FileHandle.standardError.write("usage: vox-bench stft|unet|wiener|offsets SONG|dump-bundle DIR [options] (see the source header)\n".data(using: .utf8)!)
    exit(2)
}
