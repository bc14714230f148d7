import Foundation
import VoxAudio

/// Options for a spectrogram picture. Defaults suit a whole song.
public struct SpectrogramImageOptions: Sendable {
    /// Plot area size in pixels (the image adds margins for axes, title and colour bar).
    public var plotWidth = 1200
    public var plotHeight = 480
    /// Logarithmic frequency axis from `minimumFrequency` to Nyquist (else linear from 0 Hz).
    public var logFrequency = false
    /// Lowest frequency shown on a log axis (Hz).
    public var minimumFrequency = 30.0
    /// Colours span this many dB below the loudest cell.
    public var dynamicRangeDB = 90.0
    /// Title drawn above the plot.
    public var title = ""

    public init() {}
}

/// Builds a spectrogram picture from STFT frames in bounded memory.
///
/// Frames are pooled into `plotWidth` columns as they arrive (mean power over the frames of a column and over
/// channels), so the memory is `plotWidth × binCount` floats whatever the length. Levels are in dBFS per bin:
/// a full-scale sine reads 0 dB.
public final class SpectrogramImageBuilder {
    public let options: SpectrogramImageOptions
    public let configuration: STFTConfiguration
    public let sampleRate: Double
    /// Expected total frame count (frames beyond it are pooled into the last column).
    public let expectedFrames: Int
    private let columns: Int
    private var power: [Float]
    private var counts: [Int]
    private var framesSeen = 0
    /// |X|² of a full-scale sine's peak bin: (Σw / 2)².
    private let fullScalePower: Float

    public init(configuration: STFTConfiguration, sampleRate: Double, expectedFrames: Int, options: SpectrogramImageOptions) {
        self.options = options
        self.configuration = configuration
        self.sampleRate = sampleRate
        self.expectedFrames = max(1, expectedFrames)
        columns = max(1, min(options.plotWidth, self.expectedFrames))
        power = [Float](repeating: 0, count: columns * configuration.binCount)
        counts = [Int](repeating: 0, count: columns)
        let windowSum = configuration.window.samples(size: configuration.fftSize).reduce(0, +)
        fullScalePower = (windowSum / 2) * (windowSum / 2)
    }

    /// Adds frames in time order.
    public func add(_ spec: ComplexSpectrogram) {
        let bins = configuration.binCount
        let channelScale = 1 / Float(spec.channelCount)
        spec.data.withUnsafeBufferPointer { d in
            power.withUnsafeMutableBufferPointer { p in
                for t in 0..<spec.frameCount {
                    let col = min(columns - 1, (framesSeen + t) * columns / expectedFrames)
                    counts[col] += 1
                    let dst = p.baseAddress! + col * bins
                    for c in 0..<spec.channelCount {
                        let src = d.baseAddress! + spec.offset(channel: c, frame: t)
                        for k in 0..<bins {
                            let re = src[2 * k], im = src[2 * k + 1]
                            dst[k] += (re * re + im * im) * channelScale
                        }
                    }
                }
            }
        }
        framesSeen += spec.frameCount
    }

    /// Renders the picture: dB colour map, time and frequency ticks, title and colour bar.
    public func render() -> RasterImage {
        let o = options
        let bins = configuration.binCount
        let nyquist = sampleRate / 2
        let left = 96, right = 110, top = 40, bottom = 60
        var image = RasterImage(width: left + o.plotWidth + right, height: top + o.plotHeight + bottom)
        let usedColumns = max(1, counts.lastIndex(where: { $0 > 0 }).map { $0 + 1 } ?? 1)

        // Frequency of plot row r (0 = bottom) and the bin span it covers.
        func frequency(atRowEdge r: Double) -> Double {
            let u = r / Double(o.plotHeight)
            if o.logFrequency {
                let lo = max(1, o.minimumFrequency)
                return lo * pow(nyquist / lo, u)
            }
            return u * nyquist
        }
        let binHz = sampleRate / Double(configuration.fftSize)
        let rowBins: [(Int, Int)] = (0..<o.plotHeight).map { r in
            let k0 = frequency(atRowEdge: Double(r)) / binHz, k1 = frequency(atRowEdge: Double(r + 1)) / binHz
            let a = max(0, min(bins - 1, Int(k0.rounded())))
            return (a, max(a + 1, min(bins, Int(k1.rounded()))))
        }
        // Cell levels in dB.
        var cells = [Float](repeating: -.infinity, count: usedColumns * o.plotHeight)
        var loudest: Float = -.infinity
        for col in 0..<usedColumns where counts[col] > 0 {
            let scale = 1 / (Float(counts[col]) * fullScalePower)
            for r in 0..<o.plotHeight {
                let (a, b) = rowBins[r]
                var s: Float = 0
                for k in a..<b { s += power[col * bins + k] }
                let db = 10 * log10(max(s / Float(b - a) * scale, 1e-30))
                cells[col * o.plotHeight + r] = db
                loudest = max(loudest, db)
            }
        }
        let topDB = loudest.isFinite ? (loudest / 10).rounded(.up) * 10 : 0
        let range = Float(o.dynamicRangeDB)
        for x in 0..<o.plotWidth {
            let col = min(usedColumns - 1, x * usedColumns / o.plotWidth)
            for r in 0..<o.plotHeight {
                let v = (cells[col * o.plotHeight + r] - (topDB - range)) / range
                image.set(x: left + x, y: top + o.plotHeight - 1 - r, color: ColorMap.magma(v))
            }
        }

        // Axes, ticks and labels.
        let axis: (UInt8, UInt8, UInt8) = (40, 40, 40)
        image.fill(x: left - 1, y: top, width: 1, height: o.plotHeight + 1, color: axis)
        image.fill(x: left - 1, y: top + o.plotHeight, width: o.plotWidth + 1, height: 1, color: axis)
        let duration = Double(max(framesSeen, 1) - 1) * Double(configuration.hopSize) / sampleRate
        let shownDuration = max(duration, 1e-3)
        let timeStep = niceStep(shownDuration / 10, steps: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600])
        var t = 0.0
        while t <= shownDuration + 1e-9 {
            let x = left + Int((t / shownDuration * Double(o.plotWidth - 1)).rounded())
            image.fill(x: x, y: top + o.plotHeight, width: 1, height: 6, color: axis)
            let label = timeLabel(t, step: timeStep, total: shownDuration)
            image.draw(text: label, x: x - RasterImage.textWidth(label) / 2, y: top + o.plotHeight + 10)
            t += timeStep
        }
        let timeTitle = shownDuration >= 120 ? "time (m:ss)" : "time (s)"
        image.draw(text: timeTitle, x: left + o.plotWidth / 2 - RasterImage.textWidth(timeTitle) / 2, y: top + o.plotHeight + 36)

        let freqTicks: [Double] = o.logFrequency
            ? [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000].filter { $0 >= o.minimumFrequency && $0 <= nyquist }
            : stride(from: 0.0, through: nyquist, by: niceStep(nyquist / 8, steps: [100, 200, 500, 1000, 2000, 2500, 5000, 10000, 20000])).map { $0 }
        for f in freqTicks {
            let u = o.logFrequency ? log(f / o.minimumFrequency) / log(nyquist / o.minimumFrequency) : f / nyquist
            let y = top + o.plotHeight - Int((u * Double(o.plotHeight)).rounded())
            image.fill(x: left - 7, y: y, width: 6, height: 1, color: axis)
            let label = f >= 1000 ? trimmed(f / 1000) + "k" : trimmed(f)
            image.draw(text: label, x: left - 10 - RasterImage.textWidth(label), y: y - 7)
        }
        image.draw(text: "Hz", x: 8, y: 10)
        if !o.title.isEmpty { image.draw(text: String(o.title.prefix((o.plotWidth + left) / 12 - 2)), x: left, y: 10) }

        // Colour bar.
        let barX = left + o.plotWidth + 20
        for r in 0..<o.plotHeight {
            image.fill(x: barX, y: top + o.plotHeight - 1 - r, width: 16, height: 1,
                       color: ColorMap.magma(Float(r) / Float(o.plotHeight - 1)))
        }
        var db = topDB
        while db >= topDB - range - 1e-3 {
            let y = top + Int(Double((topDB - db) / range) * Double(o.plotHeight - 1))
            image.fill(x: barX + 16, y: y, width: 4, height: 1, color: axis)
            image.draw(text: trimmed(Double(db)), x: barX + 24, y: y - 7)
            db -= range >= 60 ? 20 : 10
        }
        image.draw(text: "dBFS", x: barX - 4, y: 10)
        return image
    }
}

/// The smallest of `steps` at least `target` (or the largest step).
func niceStep(_ target: Double, steps: [Double]) -> Double { steps.first { $0 >= target } ?? steps.last! }

/// `12`, `2.5`, `0.25`: a number without trailing zeros.
func trimmed(_ v: Double) -> String {
    if v == v.rounded() { return String(Int(v)) }
    var s = String(format: "%.2f", v)
    while s.hasSuffix("0") { s.removeLast() }
    return s
}

func timeLabel(_ t: Double, step: Double, total: Double) -> String {
    if total >= 120 {
        let s = Int(t.rounded())
        return "\(s / 60):" + (s % 60 < 10 ? "0" : "") + "\(s % 60)"
    }
    return trimmed(t)
}
