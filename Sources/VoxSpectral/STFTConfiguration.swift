/// Parameters of a short-time Fourier transform.
///
/// Frame `t` covers samples `[start(t), start(t) + fftSize)` with `start(t) = t·hopSize − leadingPadding`.
/// Centred (the default), `leadingPadding = fftSize/2` and frame t is centred on sample t·hop (librosa's and
/// torch's `center=True`). Otherwise `leadingPadding` zeros precede the signal (0 by default; Spleeter uses
/// `fftSize`) and frames run until one starts past the end (TensorFlow's `pad_end=True`). Samples before 0 or
/// after the end are zero.
public struct STFTConfiguration: Equatable, Sendable {
    /// FFT length in samples (default 4096, Spleeter's at 44.1 kHz).
    public let fftSize: Int
    /// Frame advance in samples (default 1024).
    public let hopSize: Int
    /// Window applied before the FFT and again after the inverse FFT (default periodic Hann).
    public let window: WindowFunction
    /// Centre frames on multiples of the hop (default true; needed to reconstruct the first samples with
    /// tapered windows).
    public let center: Bool
    /// Zeros before the signal: `fftSize/2` when centred.
    public let leadingPadding: Int

    /// Checks that the window and hop can be inverted.
    ///
    /// - Throws: `STFTError.notInvertible` when the weighted overlap-add envelope vanishes somewhere (hop too
    ///   large for the window), or invalid sizes.
    public init(fftSize: Int = 4096, hopSize: Int = 1024, window: WindowFunction = .hann, center: Bool = true,
                leadingPadding: Int = 0) throws {
        guard fftSize >= 2, hopSize >= 1, hopSize <= fftSize, leadingPadding >= 0 else {
            throw STFTError.invalidSize("fftSize \(fftSize), hopSize \(hopSize), padding \(leadingPadding): need fftSize ≥ 2, 1 ≤ hop ≤ fftSize, padding ≥ 0")
        }
        self.fftSize = fftSize
        self.hopSize = hopSize
        self.window = window
        self.center = center
        self.leadingPadding = center ? fftSize / 2 : leadingPadding
        let overlap = WindowOverlap(window: window.samples(size: fftSize), hop: hopSize)
        guard overlap.isInvertible else {
            throw STFTError.notInvertible("\(window.rawValue) window of \(fftSize) at hop \(hopSize) leaves gaps (overlap-add envelope reaches 0)")
        }
    }

    /// Frequency bins per frame: `fftSize/2 + 1`.
    public var binCount: Int { fftSize / 2 + 1 }

    /// Frames for a signal of `n` samples: `n/hop + 1` centred, else every frame that starts before the end of
    /// the padded signal, `⌈(n + leadingPadding)/hop⌉`.
    public func frameCount(forSamples n: Int) -> Int {
        if center { return n / hopSize + 1 }
        return max(1, (n + leadingPadding + hopSize - 1) / hopSize)
    }

    /// First sample of frame `t` (negative for the first frames when padded).
    @inline(__always)
    public func frameStart(_ t: Int) -> Int { t * hopSize - leadingPadding }
}

/// Errors from spectral processing.
public enum STFTError: Error, CustomStringConvertible, Equatable {
    case invalidSize(String)
    case notInvertible(String)

    public var description: String {
        switch self {
        case .invalidSize(let s): "invalid STFT size: \(s)"
        case .notInvertible(let s): "STFT not invertible: \(s)"
        }
    }
}

/// Complex STFT coefficients of one or more channels.
///
/// Shape `(channelCount, frameCount, binCount)`, stored as interleaved complex Float32:
/// the real part of channel c, frame t, bin k is `data[2·((c·frameCount + t)·binCount + k)]`, the imaginary part
/// the next value. Coefficients are unnormalised FFT outputs of windowed frames.
public struct ComplexSpectrogram: Sendable {
    public let configuration: STFTConfiguration
    public let channelCount: Int
    public let frameCount: Int
    /// Sample rate of the analysed signal (Hz); bin k is at `k · sampleRate / fftSize` Hz.
    public let sampleRate: Double
    public var data: [Float]

    public var binCount: Int { configuration.binCount }

    public init(configuration: STFTConfiguration, channelCount: Int, frameCount: Int, sampleRate: Double, data: [Float]? = nil) {
        self.configuration = configuration
        self.channelCount = channelCount
        self.frameCount = frameCount
        self.sampleRate = sampleRate
        let n = 2 * channelCount * frameCount * configuration.binCount
        if let data {
            precondition(data.count == n, "spectrogram data has \(data.count) values, shape needs \(n)")
            self.data = data
        } else {
            self.data = [Float](repeating: 0, count: n)
        }
    }

    /// Offset of (channel, frame) in `data`.
    @inline(__always)
    public func offset(channel c: Int, frame t: Int) -> Int { 2 * ((c * frameCount + t) * binCount) }
}
