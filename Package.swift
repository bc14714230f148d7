// swift-tools-version: 6.0
// Vox: stem separation, singing voice conversion and mixing, in Swift.
import PackageDescription

let package = Package(
    name: "Vox",
    products: [
        .library(name: "VoxAudio", targets: ["VoxAudio"]),
        .library(name: "VoxSpectral", targets: ["VoxSpectral"]),
        .library(name: "VoxSeparation", targets: ["VoxSeparation"]),
        .library(name: "VoxProvenance", targets: ["VoxProvenance"]),
        .library(name: "VoxMix", targets: ["VoxMix"]),
        .library(name: "VoxVoice", targets: ["VoxVoice"]),
        .executable(name: "vox", targets: ["vox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries from Debian (tools/setup.sh installs the -dev packages).
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f",
                       providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr",
                       providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CEbur128", pkgConfig: "libebur128",
                       providers: [.apt(["libebur128-dev"])]),

        // Library layers: lower layers never import higher ones.
        .target(name: "VoxAudio", dependencies: ["CSndFile", "CSoxr", "CCrypto"]),
        .target(name: "VoxSpectral", dependencies: ["VoxAudio", "CFFTW", "CZlib"]),
        // Kernels for CPU features chosen at run time (Swift cannot compile per-function CPU targets): the U-Net's
        // AVX-512 matrix product, the frame search's AVX2 distances.
        .target(name: "CVoxKernels",
                cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        .target(name: "VoxSeparation", dependencies: ["VoxAudio", "VoxSpectral", "COpenBLAS", "CVoxKernels"],
                // Network inference is ~100× slower unoptimised; tests of it would take minutes in debug.
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "VoxProvenance", dependencies: ["VoxAudio", "VoxSpectral"],
                // The watermark's per-bin loops run ~100× slower unoptimised.
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "VoxMix", dependencies: ["VoxAudio", "VoxSpectral", "CEbur128"],
                // Limiter, resampling and correlation loops are ~100× slower unoptimised.
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "VoxVoice", dependencies: ["VoxAudio", "VoxSpectral", "CVoxKernels"],
                // Per-frame DSP loops are ~100× slower unoptimised; keep debug tests fast.
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),

        // Command line.
        .executableTarget(name: "vox", dependencies: [
            "VoxAudio", "VoxSpectral", "VoxSeparation", "VoxProvenance", "VoxMix", "VoxVoice",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Benchmarks driver used by tools/bench (not a test).
        .executableTarget(name: "vox-bench", dependencies: ["VoxAudio", "VoxSpectral", "VoxSeparation"]),

        .testTarget(name: "VoxAudioTests", dependencies: ["VoxAudio"]),
        .testTarget(name: "VoxSpectralTests", dependencies: ["VoxSpectral", "VoxAudio"]),
        .testTarget(name: "VoxSeparationTests", dependencies: ["VoxSeparation", "VoxSpectral", "VoxAudio", "COpenBLAS"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "VoxProvenanceTests", dependencies: ["VoxProvenance", "VoxAudio"]),
        .testTarget(name: "VoxMixTests", dependencies: ["VoxMix", "VoxAudio"]),
        .testTarget(name: "VoxVoiceTests", dependencies: ["VoxVoice", "VoxAudio", "CVoxKernels"]),
        .testTarget(name: "VoxCLITests", dependencies: ["vox", "VoxAudio"]),
    ],
    swiftLanguageModes: [.v6]
)
