import CFFTW
import Foundation

/// FFTW plans shared by every `RealFFT` of the same size.
///
/// FFTW's planner is not thread-safe, so planning happens under one lock; executing a plan with the new-array
/// interface (`fftwf_execute_dft_r2c`) is thread-safe, so each `RealFFT` brings its own aligned buffers.
final class FFTPlanCache: @unchecked Sendable {
    static let shared = FFTPlanCache()

    struct Plans { let forward: OpaquePointer; let inverse: OpaquePointer }
    private let lock = NSLock()
    private var plans: [Int: Plans] = [:]

    /// Plans for an `n`-point real transform, made once per process (per `measure` setting).
    func plans(size n: Int, measure: Bool = true) -> Plans {
        lock.lock()
        defer { lock.unlock() }
        let key = measure ? n : -n
        if let p = plans[key] { return p }
        // FFTW_MEASURE picks the fastest algorithm for sizes with small prime factors; for awkward sizes it
        // could take seconds, so those are planned by estimate.
        let flags = measure && FFTPlanCache.isSmooth(n) && n <= 1 << 16 ? UInt32(FFTW_MEASURE) : UInt32(FFTW_ESTIMATE)
        let real = fftwf_alloc_real(n)!
        let complex = fftwf_alloc_complex(n / 2 + 1)!
        defer { fftwf_free(real); fftwf_free(complex) }
        let fwd = fftwf_plan_dft_r2c_1d(Int32(n), real, complex, flags)!
        let inv = fftwf_plan_dft_c2r_1d(Int32(n), complex, real, flags)!
        let p = Plans(forward: fwd, inverse: inv)
        plans[key] = p
        return p
    }

    static func isSmooth(_ n: Int) -> Bool {
        var m = n
        for f in [2, 3, 5, 7] { while m % f == 0 { m /= f } }
        return m == 1
    }
}

/// A real-input FFT of a fixed size (any size; fastest for products of 2, 3, 5, 7), backed by FFTW (float).
///
/// Shapes: the time domain is `size` real samples; the frequency domain is `binCount = size/2 + 1` complex bins,
/// stored interleaved (`re0, im0, re1, im1, …`). `inverse` is normalised, so `inverse(forward(x)) == x`.
/// An instance owns scratch buffers: use one per thread.
public final class RealFFT {
    /// Transform length in samples.
    public let size: Int
    /// `size / 2 + 1`.
    public let binCount: Int
    private let plans: FFTPlanCache.Plans
    /// SIMD-aligned scratch that the plans run on (FFTW requires the alignment of the planning arrays).
    let timeBuffer: UnsafeMutablePointer<Float>
    let frequencyBuffer: UnsafeMutablePointer<Float>
    private let complexBuffer: UnsafeMutablePointer<fftwf_complex>

    /// - Parameter measure: plan by measurement (FFTW_MEASURE: fastest execution, but tens to hundreds of
    ///   milliseconds of planning per size and process) or by estimate (FFTW_ESTIMATE: instant planning; for
    ///   power-of-two sizes nearly as fast). Callers that run a few thousand small transforms per file and
    ///   care about start-up (the vocoder) use `false`.
    public init(size: Int, measure: Bool = true) {
        precondition(size >= 2, "FFT size must be at least 2")
        self.size = size
        binCount = size / 2 + 1
        plans = FFTPlanCache.shared.plans(size: size, measure: measure)
        timeBuffer = fftwf_alloc_real(size)!
        complexBuffer = fftwf_alloc_complex(binCount)!
        frequencyBuffer = UnsafeMutableRawPointer(complexBuffer).bindMemory(to: Float.self, capacity: 2 * binCount)
    }

    deinit {
        fftwf_free(timeBuffer)
        fftwf_free(complexBuffer)
    }

    /// Transforms `timeBuffer` into `frequencyBuffer` (unnormalised).
    @inline(__always)
    func executeForward() {
        fftwf_execute_dft_r2c(plans.forward, timeBuffer, complexBuffer)
    }

    /// Transforms `frequencyBuffer` into `timeBuffer` (unnormalised: the result is `size` times the input signal).
    /// Destroys `frequencyBuffer`.
    @inline(__always)
    func executeInverse() {
        fftwf_execute_dft_c2r(plans.inverse, complexBuffer, timeBuffer)
    }

    /// Forward transform: `size` reals → `binCount` interleaved complex values (unnormalised).
    public func forward(_ input: [Float]) -> [Float] {
        precondition(input.count == size)
        input.withUnsafeBufferPointer { timeBuffer.update(from: $0.baseAddress!, count: size) }
        executeForward()
        return Array(UnsafeBufferPointer(start: frequencyBuffer, count: 2 * binCount))
    }

    /// Inverse transform: `binCount` interleaved complex values → `size` reals, scaled by `1/size`.
    public func inverse(_ spectrum: [Float]) -> [Float] {
        precondition(spectrum.count == 2 * binCount)
        spectrum.withUnsafeBufferPointer { frequencyBuffer.update(from: $0.baseAddress!, count: 2 * binCount) }
        executeInverse()
        let scale = 1 / Float(size)
        return (0..<size).map { timeBuffer[$0] * scale }
    }
}

extension RealFFT {
    /// Zero-copy access for hot loops: the `size` real samples the transforms read and write.
    public var timeSamples: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: timeBuffer, count: size) }
    /// Zero-copy access for hot loops: the `binCount` complex bins, interleaved (`re0, im0, re1, im1, …`).
    public var spectrumValues: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: frequencyBuffer, count: 2 * binCount)
    }
    /// `timeSamples` → `spectrumValues`, unnormalised (no copies).
    public func transformForward() { executeForward() }
    /// `spectrumValues` → `timeSamples`, unnormalised (`size` times the signal); destroys `spectrumValues`.
    public func transformInverse() { executeInverse() }
}
