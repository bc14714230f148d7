import Foundation

/// Per-stage timing of a separation, for finding idle cores: with `VOX_TRACE_SEPARATION=1` in the environment every
/// traced stage prints one line to stderr — stage, window, wall start and end (seconds since the first traced event)
/// and the CPU time the calling thread spent in it. Wall time on a loaded machine says little; a stage whose thread
/// CPU time is well below its wall time was waiting (or preempted), and two stages whose wall spans do not overlap
/// ran with one core idle. Off (one branch per stage) unless the variable is set.
enum StageTrace {
    static let enabled = ProcessInfo.processInfo.environment["VOX_TRACE_SEPARATION"] == "1"
    private static let origin = DispatchTime.now().uptimeNanoseconds
    private static let lock = NSLock()

    /// Runs `body`, tracing it as `stage` (window `window`, or -1) when tracing is on.
    @inline(__always)
    static func measure<T>(_ stage: String, window: Int = -1, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        let o = origin  // first use starts the clock
        let w0 = DispatchTime.now().uptimeNanoseconds, c0 = threadCPU()
        defer {
            let w1 = DispatchTime.now().uptimeNanoseconds, c1 = threadCPU()
            let line = String(format: "trace %-10@ w%-3d wall %8.3f–%8.3f (%6.3f s) cpu %6.3f s\n", stage as NSString, window,
                              Double(w0 - o) / 1e9, Double(w1 - o) / 1e9, Double(w1 - w0) / 1e9, c1 - c0)
            lock.lock(); FileHandle.standardError.write(line.data(using: .utf8)!); lock.unlock()
        }
        return try body()
    }

    private static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
