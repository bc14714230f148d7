import Dispatch
import Foundation
import VoxAudio

/// Whole-signal STFT and inverse STFT (weighted overlap-add) on FFTW.
///
/// The inverse divides by the overlap-add envelope `Σₜ w²[n − start(t)]` computed for the actual frames, so it
/// reconstructs any invertible window/hop exactly (Griffin & Lim 1984, eq. 6), including the signal's edges when
/// centred. Work is spread over the cores: frames in parallel for the forward transform, channels in parallel for
/// the inverse (overlap-add is sequential in frame order within a channel, so results equal `StreamingISTFT`'s
/// bit for bit).
public struct ShortTimeFourierTransform: Sendable {
    public let configuration: STFTConfiguration
    let analysisWindow: [Float]
    /// Window divided by `fftSize`, which also undoes FFTW's unnormalised inverse.
    let synthesisWindow: [Float]
    let envelope: OverlapAddEnvelope

    public init(configuration: STFTConfiguration) {
        self.configuration = configuration
        analysisWindow = configuration.window.samples(size: configuration.fftSize)
        let scale = 1 / Float(configuration.fftSize)
        synthesisWindow = analysisWindow.map { $0 * scale }
        envelope = OverlapAddEnvelope(configuration: configuration, window: analysisWindow)
    }

    /// STFT of every channel of `buffer`: shape `(channels, frameCount(forSamples: n), binCount)`.
    public func forward(_ buffer: AudioBuffer) -> ComplexSpectrogram {
        let cfg = configuration
        let n = buffer.frameCount
        let frames = cfg.frameCount(forSamples: n)
        let jobsPerChannel = max(1, min(frames / 64, 2 * ProcessInfo.activeCores))
        let jobs = buffer.channelCount * jobsPerChannel
        let window = analysisWindow
        let bins = cfg.binCount
        let total = 2 * buffer.channelCount * frames * bins
        // Every value is written by exactly one worker, so the (large) array is not zero-filled first, and its
        // pages are first touched in parallel.
        let data = [Float](unsafeUninitializedCapacity: total) { dataBuffer, count in
            let base = UnsafeSendablePointer(dataBuffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: jobs) { job in
                let c = job / jobsPerChannel, part = job % jobsPerChannel
                let t0 = frames * part / jobsPerChannel, t1 = frames * (part + 1) / jobsPerChannel
                let fft = RealFFT(size: cfg.fftSize)
                buffer.channels[c].withUnsafeBufferPointer { signal in
                    window.withUnsafeBufferPointer { w in
                        for t in t0..<t1 {
                            analyzeFrame(signal: signal, signalOffset: 0, start: cfg.frameStart(t), window: w, fft: fft,
                                         into: base.pointer + 2 * ((c * frames + t) * bins))
                        }
                    }
                }
            }
            count = total
        }
        let spec = ComplexSpectrogram(configuration: cfg, channelCount: buffer.channelCount, frameCount: frames,
                                      sampleRate: buffer.sampleRate, data: data)
        return spec
    }

    /// Inverse STFT: `length` samples per channel (the original signal's length).
    public func inverse(_ spec: ComplexSpectrogram, length: Int) -> AudioBuffer {
        precondition(spec.configuration == configuration, "spectrogram made with another configuration")
        let cfg = configuration
        let envelope = [Float](unsafeUninitializedCapacity: length) { e, count in
            self.envelope.fill(e, first: 0, frameCount: spec.frameCount)
            count = length
        }
        var out = [[Float]](repeating: [], count: spec.channelCount)
        let window = synthesisWindow
        out.withUnsafeMutableBufferPointer { outBuffer in
            let outBase = UnsafeSendablePointer(outBuffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: spec.channelCount) { c in
                let fft = RealFFT(size: cfg.fftSize)
                var acc = [Float](repeating: 0, count: length)
                acc.withUnsafeMutableBufferPointer { y in
                    window.withUnsafeBufferPointer { w in
                        spec.data.withUnsafeBufferPointer { d in
                            for t in 0..<spec.frameCount {
                                synthesizeFrame(d.baseAddress! + spec.offset(channel: c, frame: t), fft: fft, window: w,
                                                start: cfg.frameStart(t), into: y, outputOffset: 0)
                            }
                        }
                    }
                    envelope.withUnsafeBufferPointer { e in normalize(y, by: e) }
                }
                (outBase.pointer + c).pointee = acc
            }
        }
        return AudioBuffer(channels: out, sampleRate: spec.sampleRate)
    }
}

// MARK: - Frame kernels shared by the whole-signal and streaming transforms

/// Windows the `fftSize` samples starting at `start` (absolute index; `signal[i]` holds absolute sample
/// `signalOffset + i`, samples outside it are zero), transforms them and writes `binCount` complex values to `out`.
@inline(__always)
func analyzeFrame(signal: UnsafeBufferPointer<Float>, signalOffset: Int, start: Int, window: UnsafeBufferPointer<Float>,
                  fft: RealFFT, into out: UnsafeMutablePointer<Float>) {
    let n = fft.size
    let x = fft.timeBuffer
    let local = start - signalOffset
    let lo = max(0, -local), hi = min(n, signal.count - local)
    if lo >= hi {
        x.update(repeating: 0, count: n)
    } else {
        if lo > 0 { x.update(repeating: 0, count: lo) }
        let s = signal.baseAddress! + local
        for i in lo..<hi { x[i] = s[i] * window[i] }
        if hi < n { (x + hi).update(repeating: 0, count: n - hi) }
    }
    fft.executeForward()
    out.update(from: fft.frequencyBuffer, count: 2 * fft.binCount)
}

/// Inverse-transforms one frame's `binCount` complex values, windows it and adds it into `y` at `start`
/// (`y[i]` holds absolute sample `outputOffset + i`; parts outside `y` are dropped).
@inline(__always)
func synthesizeFrame(_ bins: UnsafePointer<Float>, fft: RealFFT, window: UnsafeBufferPointer<Float>, start: Int,
                     into y: UnsafeMutableBufferPointer<Float>, outputOffset: Int) {
    let n = fft.size
    fft.frequencyBuffer.update(from: bins, count: 2 * fft.binCount)
    fft.executeInverse()
    let x = fft.timeBuffer
    let local = start - outputOffset
    let lo = max(0, -local), hi = min(n, y.count - local)
    guard lo < hi else { return }
    let dst = y.baseAddress! + local
    for i in lo..<hi { dst[i] += x[i] * window[i] }
}

/// `y[i] /= e[i]` where the envelope is non-zero.
@inline(__always)
func normalize(_ y: UnsafeMutableBufferPointer<Float>, by e: UnsafeBufferPointer<Float>) {
    for i in 0..<y.count {
        let v = e[i]
        y[i] = v > 1e-10 ? y[i] / v : 0
    }
}

// MARK: - Concurrency helpers

/// A raw pointer handed to `concurrentPerform` workers that write disjoint regions.
struct UnsafeSendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

extension ProcessInfo {
    /// Cores available to this process.
    static var activeCores: Int { ProcessInfo.processInfo.activeProcessorCount }
}
