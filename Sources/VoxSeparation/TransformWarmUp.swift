import Dispatch
import VoxSpectral

/// Plans a separation's FFT on another thread while the caller does other serial start-up work (reading and checking
/// the model).
///
/// FFTW_MEASURE planning of the 4096-point transforms costs about 0.4–0.5 s of CPU once per process (measured with
/// `perf` on a 1-second song: 42 % of its CPU time), and without this it runs on the main thread when the stream is
/// built, after the model is loaded and before the first window can be read, with the other core idle. The plans are
/// cached process-wide (`RealFFT`), so the stream's STFT and iSTFT find them ready, or wait on the planner's lock
/// while the planning finishes. Planning for a size the model turns out not to use costs CPU but changes nothing.
public enum TransformWarmUp {
    /// Starts planning `fftSize`-point real transforms (default: Spleeter's 4096) in the background; returns at once.
    public static func start(fftSize: Int = SpleeterConfiguration.spleeter2Stems.fftSize) {
        DispatchQueue.global(qos: .userInitiated).async { _ = RealFFT(size: fftSize) }
    }
}
