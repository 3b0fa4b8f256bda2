package dev.loracle.runtime.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * The step executor's launcher: passes launches through, or records them (kernel, shape, arguments) so that a step's
 * whole launch sequence can be compared with earlier ones and replayed from a CUDA graph ({@link StepGraphs}).
 */
final class StepLauncher implements KernelLauncher {
    /** One recorded launch. */
    record Launch(String kernel, LaunchConfig config, KernelArgs args) {}

    private final KernelLauncher target;
    private final List<Launch> recorded = new ArrayList<>();
    private boolean recording;

    StepLauncher(KernelLauncher target) { this.target = target; }

    KernelLauncher target() { return target; }

    /** Starts (clearing the previous recording) or stops recording; the recording stays readable until the next start. */
    void record(boolean on) {
        if (on) recorded.clear();
        recording = on;
    }

    List<Launch> recorded() { return recorded; }

    @Override
    public void launch(String kernel, LaunchConfig config, KernelArgs args) {
        if (recording) recorded.add(new Launch(kernel, config, args));
        else target.launch(kernel, config, args);
    }
}
