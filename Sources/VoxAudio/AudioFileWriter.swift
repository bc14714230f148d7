import CSndFile
import Foundation

/// Writes audio block by block to WAV (PCM 16/24, float 32) or FLAC (16/24) through libsndfile.
///
/// Safe by construction: samples go to a hidden temporary file in the target folder, which is renamed over the
/// target only by `finish()`. A writer that is cancelled, deinitialised unfinished, or fails leaves nothing behind
/// and never touches an existing file at the target path. Integer output is quantised by Vox itself (optionally
/// with TPDF dither), so a 16/24-bit file read by `AudioFileReader` and written back is bit-exact.
public final class AudioFileWriter {
    /// The final path.
    public let path: String
    public let format: AudioFileFormat
    public let sampleRate: Int
    public let channelCount: Int
    /// Frames written so far.
    public private(set) var framesWritten: Int64 = 0
    /// Samples clipped to full scale so far (integer output only).
    public private(set) var clippedSamples = 0

    private let temporaryPath: String
    private var handle: OpaquePointer?
    private var dither: TPDFDither?
    private var interleaveScratch: [Float] = []
    private var intScratch: [Int32] = []
    private var finished = false

    /// Creates the temporary file next to `path`.
    ///
    /// - Parameters:
    ///   - path: the final output path.
    ///   - format: container and encoding.
    ///   - sampleRate: frames per second (Hz).
    ///   - channelCount: 1 or more.
    ///   - dither: add TPDF dither when quantising to integer PCM.
    ///   - inputs: paths this run reads; writing over any of them is refused.
    ///   - expectedFrames: a length hint; WAV output expected to exceed 4 GiB is written as RF64.
    ///   - metadata: tags and key/value fields to store (see `AudioMetadata` for where each goes).
    /// - Throws: `.sameAsInput`, `.unwritable`, `.invalidArgument`.
    public init(path: String, format: AudioFileFormat, sampleRate: Int, channelCount: Int,
                dither: Bool = false, inputs: [String] = [], expectedFrames: Int64? = nil,
                metadata: AudioMetadata? = nil) throws {
        guard sampleRate > 0, channelCount > 0 else {
            throw AudioError(.invalidArgument, path: path, "invalid output: \(channelCount) channels at \(sampleRate) Hz")
        }
        if format.container == .flac && channelCount > 8 {
            throw AudioError(.unsupportedFormat, path: path, "FLAC holds at most 8 channels, this audio has \(channelCount)")
        }
        try OutputPath.refuseInputs(output: path, inputs: inputs)
        self.path = path
        self.format = format
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        self.dither = (dither && format.encoding.integerBits != nil) ? TPDFDither() : nil
        temporaryPath = try OutputPath.temporarySibling(of: path)

        var sfInfo = SF_INFO()
        sfInfo.samplerate = Int32(sampleRate)
        sfInfo.channels = Int32(channelCount)
        let bytesPerFrame = format.bytesPerFrame(channelCount: channelCount)
        let large = (expectedFrames ?? 0) * bytesPerFrame > AudioFileWriter.plainWAVDataLimit
        sfInfo.format = format.sndfileFormat(largeWAV: large)
        wavDataLimit = format.container == .wav && !large ? AudioFileWriter.plainWAVDataLimit / bytesPerFrame : nil
        guard sf_format_check(&sfInfo) != 0 else {
            throw AudioError(.unsupportedFormat, path: path, "libsndfile cannot write \(format.container.rawValue) with this encoding at \(sampleRate) Hz")
        }
        guard let h = sf_open(temporaryPath, Int32(SFM_WRITE), &sfInfo) else {
            let reason = String(cString: sf_strerror(nil))
            unlink(temporaryPath)
            throw AudioError(.unwritable, path: path, "cannot write output: \(reason)")
        }
        handle = h
        if let metadata, !metadata.isEmpty {
            do {
                // Before any audio: FLAC writes its comments and WAV its bext chunk with the header.
                try metadata.apply(to: h, container: format.container, sampleRate: sampleRate,
                                   channelCount: channelCount, encoding: format.encoding, path: path)
            } catch {
                cancel()
                throw error
            }
        }
    }

    /// Sample data a plain WAV can hold (its sizes are 32-bit), with room for the header.
    static let plainWAVDataLimit: Int64 = 0xFFFF_FFFF - 4096
    /// Frames a plain WAV output can still take, nil for RF64 and FLAC.
    private let wavDataLimit: Int64?

    deinit { if !finished { cancel() } }

    /// Appends `buffer` (same channel count; its sample rate is not checked, the writer's is used).
    public func write(_ buffer: AudioBuffer) throws {
        guard let h = handle, !finished else { throw AudioError(.io, path: path, "writer is closed") }
        precondition(buffer.channelCount == channelCount, "channel count differs from the writer's")
        let frames = buffer.frameCount
        let n = frames * channelCount
        if n == 0 { return }
        if let limit = wavDataLimit, framesWritten + Int64(frames) > limit {
            cancel()
            throw AudioError(.unwritable, path: path, "output passes the 4 GiB WAV limit; write FLAC, or pass the expected length so Vox writes RF64")
        }
        if interleaveScratch.count < n { interleaveScratch = [Float](repeating: 0, count: n) }
        interleaveScratch.withUnsafeMutableBufferPointer { buffer.interleave(into: $0) }
        let written: sf_count_t
        if let bits = format.encoding.integerBits {
            if intScratch.count < n { intScratch = [Int32](repeating: 0, count: n) }
            clippedSamples += interleaveScratch.withUnsafeBufferPointer { src in
                intScratch.withUnsafeMutableBufferPointer { dst in
                    quantize(UnsafeBufferPointer(rebasing: src[0..<n]), into: dst, bits: bits, dither: &dither)
                }
            }
            written = intScratch.withUnsafeBufferPointer { sf_writef_int(h, $0.baseAddress, sf_count_t(frames)) }
        } else {
            if let bad = buffer.firstNonFinite() {
                cancel()
                throw AudioError(.nonFinite, path: path, "refusing to write a non-finite sample (\(bad.value)) at frame \(framesWritten + Int64(bad.frame))")
            }
            written = interleaveScratch.withUnsafeBufferPointer { sf_writef_float(h, $0.baseAddress, sf_count_t(frames)) }
        }
        if written != sf_count_t(frames) {
            let reason = String(cString: sf_strerror(h))
            cancel()
            throw AudioError(.io, path: path, "write failed after \(framesWritten) frames: \(reason)")
        }
        framesWritten += Int64(frames)
    }

    /// Closes the file and renames it into place. Nothing appears at `path` before this returns successfully.
    public func finish() throws {
        guard let h = handle, !finished else { return }
        handle = nil
        sf_write_sync(h)
        let closeStatus = sf_close(h)
        if closeStatus != 0 {
            unlink(temporaryPath)
            finished = true
            throw AudioError(.io, path: path, "closing the output failed: \(String(cString: sf_error_number(closeStatus)))")
        }
        if rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            finished = true
            throw AudioError(.unwritable, path: path, "cannot move output into place: \(reason)")
        }
        finished = true
    }

    /// Abandons the output: closes and deletes the temporary file. The target path is untouched.
    public func cancel() {
        if let h = handle { sf_close(h) }
        handle = nil
        unlink(temporaryPath)
        finished = true
    }

    /// Writes a whole buffer to `path` in one call.
    public static func write(_ buffer: AudioBuffer, to path: String, format: AudioFileFormat,
                             dither: Bool = false, inputs: [String] = [], metadata: AudioMetadata? = nil) throws {
        guard buffer.sampleRate == buffer.sampleRate.rounded(), buffer.sampleRate >= 1 else {
            throw AudioError(.invalidArgument, path: path, "sample rate \(buffer.sampleRate) Hz is not a whole number")
        }
        let writer = try AudioFileWriter(path: path, format: format, sampleRate: Int(buffer.sampleRate),
                                         channelCount: buffer.channelCount, dither: dither, inputs: inputs,
                                         metadata: metadata)
        let block = 1 << 16
        var start = 0
        repeat {
            let end = min(buffer.frameCount, start + block)
            try writer.write(buffer.slice(start..<end))
            start = end
        } while start < buffer.frameCount
        try writer.finish()
    }
}

/// Rules for output paths: never an input, always written via a temporary sibling.
public enum OutputPath {
    /// Throws `.sameAsInput` if `output` names the same file as any of `inputs` (same path, or the same inode
    /// through a link).
    public static func refuseInputs(output: String, inputs: [String]) throws {
        let outURL = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath()
        var outStat = stat()
        let outExists = stat(output, &outStat) == 0
        for input in inputs {
            let inURL = URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath()
            var inStat = stat()
            let sameInode = outExists && stat(input, &inStat) == 0
                && inStat.st_dev == outStat.st_dev && inStat.st_ino == outStat.st_ino
            if sameInode || inURL.path == outURL.path {
                throw AudioError(.sameAsInput, path: output, "output is the same file as the input \(input); refusing to overwrite an input")
            }
        }
    }

    /// Writes `data` to `path` through a temporary sibling and a rename: all of it appears, or nothing.
    /// - Throws: `.unwritable`.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = try temporarySibling(of: path)
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            unlink(temporary)
            throw AudioError(.unwritable, path: path, "cannot write output: \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AudioError(.unwritable, path: path, "cannot move output into place: \(reason)")
        }
    }

    /// A new hidden file name in the same folder as `path` (so that `rename` is atomic).
    /// - Throws: `.unwritable` when the folder does not exist or is not a folder.
    public static func temporarySibling(of path: String) throws -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw AudioError(.unwritable, path: path, "output folder \(dir) does not exist")
        }
        var isDirTarget: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirTarget), isDirTarget.boolValue {
            throw AudioError(.unwritable, path: path, "output path is a folder")
        }
        let token = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return dir + "/." + url.lastPathComponent + ".\(getpid())-\(token).vox-tmp"
    }
}
