import CSoxr

/// High-quality streaming sample-rate conversion through libsoxr (linear phase, "very high quality" recipe:
/// passband to 95 % of Nyquist, ≥ 175 dB stop-band in double precision; limited by Float32 here).
///
/// Feed blocks with `process(_:)` and call `finish()` once at the end. The total output length is exactly
/// `round(inputFrames · outputRate / inputRate)` frames, and output is time-aligned with the input (soxr
/// compensates its filter delay).
public final class Resampler {
    public let inputRate: Double
    public let outputRate: Double
    public let channelCount: Int

    private var soxr: soxr_t?
    private var inputFrames: Int64 = 0
    private var outputFrames: Int64 = 0
    private var finished = false

    /// - Throws: `.invalidArgument` for non-positive rates or channel counts.
    public init(inputRate: Double, outputRate: Double, channelCount: Int) throws {
        guard inputRate > 0, outputRate > 0, channelCount > 0 else {
            throw AudioError(.invalidArgument, "cannot resample \(channelCount) channels from \(inputRate) Hz to \(outputRate) Hz")
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.channelCount = channelCount
        var error: soxr_error_t?
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_VHQ), 0)
        var runtime = soxr_runtime_spec(1)
        soxr = soxr_create(inputRate, outputRate, UInt32(channelCount), &error, &io, &quality, &runtime)
        if let error {
            throw AudioError(.invalidArgument, "libsoxr: \(String(cString: error))")
        }
    }

    deinit { if let s = soxr { soxr_delete(s) } }

    /// The exact number of output frames that `inputFrames` input frames produce.
    public func expectedOutputFrames(forInputFrames n: Int64) -> Int64 {
        Int64((Double(n) * outputRate / inputRate).rounded())
    }

    /// Resamples the next block; returns whatever output is ready (possibly zero frames).
    public func process(_ buffer: AudioBuffer) -> AudioBuffer {
        precondition(!finished, "process after finish")
        precondition(buffer.channelCount == channelCount)
        inputFrames += Int64(buffer.frameCount)
        return run(buffer, flush: false)
    }

    /// Flushes the filter; returns the remaining output so that the total equals `expectedOutputFrames`.
    public func finish() -> AudioBuffer {
        precondition(!finished, "finish called twice")
        finished = true
        var out = run(nil, flush: true)
        let expected = expectedOutputFrames(forInputFrames: inputFrames)
        let missing = Int(expected - outputFrames)
        if missing > 0 {
            out.append(AudioBuffer(frameCount: missing, channelCount: channelCount, sampleRate: outputRate))
        } else if missing < 0 {
            out = out.slice(0..<max(0, out.frameCount + missing))
        }
        outputFrames = expected
        return out
    }

    /// Runs soxr on one block (or flushes with `nil`), collecting output until soxr has nothing more.
    /// Samples cross the C boundary interleaved.
    private func run(_ input: AudioBuffer?, flush: Bool) -> AudioBuffer {
        let cc = channelCount
        let inFrames = input?.frameCount ?? 0
        if !flush && inFrames == 0 { return AudioBuffer(frameCount: 0, channelCount: cc, sampleRate: outputRate) }
        let interleavedIn = input?.interleaved() ?? []
        let chunk = max(4096, Int(Double(inFrames) * outputRate / inputRate) + 64)
        var outBlock = [Float](repeating: 0, count: chunk * cc)
        var collected = [Float]()
        var consumed = 0
        while true {
            var idone = 0, odone = 0
            let status: soxr_error_t? = interleavedIn.withUnsafeBufferPointer { inBuf in
                outBlock.withUnsafeMutableBufferPointer { outBuf in
                    let inPtr = flush ? nil : UnsafeRawPointer(inBuf.baseAddress.map { $0 + consumed * cc })
                    return soxr_process(soxr, inPtr, flush ? 0 : inFrames - consumed, &idone,
                                        UnsafeMutableRawPointer(outBuf.baseAddress!), chunk, &odone)
                }
            }
            precondition(status == nil, "libsoxr failed: \(String(cString: status!))")
            consumed += idone
            collected.append(contentsOf: outBlock[0..<(odone * cc)])
            if flush {
                if odone == 0 { break }
            } else if (consumed >= inFrames && odone < chunk) || (idone == 0 && odone == 0) {
                break
            }
        }
        var result = collected.withUnsafeBufferPointer {
            AudioBuffer(interleaved: $0, channelCount: cc, sampleRate: outputRate)
        }
        // Never exceed the exact total (soxr may overshoot by a frame at the very end).
        let cap = expectedOutputFrames(forInputFrames: inputFrames) - outputFrames
        if flush && Int64(result.frameCount) > cap { result = result.slice(0..<Int(max(0, cap))) }
        outputFrames += Int64(result.frameCount)
        return result
    }

    /// Resamples a whole buffer to `rate` (returns the buffer unchanged if the rate already matches).
    public static func resample(_ buffer: AudioBuffer, to rate: Double) throws -> AudioBuffer {
        if buffer.sampleRate == rate { return buffer }
        let r = try Resampler(inputRate: buffer.sampleRate, outputRate: rate, channelCount: buffer.channelCount)
        var out = r.process(buffer)
        out.append(r.finish())
        return out
    }
}

