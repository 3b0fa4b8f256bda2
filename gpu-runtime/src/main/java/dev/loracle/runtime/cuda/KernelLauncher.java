package dev.loracle.runtime.cuda;

/** Launches a kernel by entry name on the backend's stream (cuLaunchKernel on a GPU; a recorder in host tests). */
public interface KernelLauncher {
    void launch(String kernel, LaunchConfig config, KernelArgs args);
}
