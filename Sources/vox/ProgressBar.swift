import Foundation

/// A one-line progress bar on stderr for work that takes more than about a second.
///
/// Hidden when stderr is not a terminal or when `--quiet` is given; redrawn at most ten times a second.
final class ProgressBar {
    private let label: String
    private let total: Double
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(label: String, total: Double, quiet: Bool) {
        self.label = label
        self.total = max(total, 1)
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    /// Reports `done` units of `total`.
    func update(_ done: Double) {
        guard enabled else { return }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        guard elapsed > 1, now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let fraction = min(1, max(0, done / total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let eta = fraction > 0.01 ? elapsed / fraction - elapsed : 0
        let line = "\(label) [\(bar)] \(Int(fraction * 100))%  \(clock(elapsed)) elapsed, ~\(clock(eta)) left"
        FileHandle.standardError.write(("\r" + line + "\u{1B}[K").data(using: .utf8)!)
        drawn = true
    }

    /// Clears the bar.
    func finish() {
        guard enabled, drawn else { return }
        FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!)
        drawn = false
    }

    private func clock(_ s: Double) -> String {
        let v = Int(s.rounded())
        return "\(v / 60):" + (v % 60 < 10 ? "0" : "") + "\(v % 60)"
    }
}
