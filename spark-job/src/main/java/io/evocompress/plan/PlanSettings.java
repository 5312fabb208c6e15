package io.evocompress.plan;

import io.evocompress.config.JobConfig;

import java.util.Map;
import java.util.Set;

/**
 * The {@code plan.*} settings of {@code evocompress plan} (the configuration's other settings are the
 * planned command's own). Defaults are one NVIDIA H100 SXM's published peaks, so the hours are a
 * lower bound for that device: 989e12 dense bf16 FLOP/s and 3.35e12 B/s of HBM3.
 *
 * @param deviceFlops      {@code plan.device-flops}: the device's FLOP rate (FLOP/s)
 * @param deviceBandwidth  {@code plan.device-bandwidth}: the device's memory bandwidth (bytes/s)
 * @param dtypeBytes       {@code plan.dtype}: bfloat16 (default, what a GPU task computes in), float16 or
 *                         float32 (what a CPU task computes in): bytes per weight and activation on the device
 * @param samples          {@code plan.samples}: generations drawn to predict prefix sharing (default 400)
 * @param seed             {@code plan.seed}: the seed of those draws (default 0)
 */
public record PlanSettings(double deviceFlops, double deviceBandwidth, int dtypeBytes, String dtype, int samples, long seed) {
    public static final double DEFAULT_FLOPS = 989e12;
    public static final double DEFAULT_BANDWIDTH = 3.35e12;
    public static final Set<String> KEYS = Set.of("plan.device-flops", "plan.device-bandwidth", "plan.dtype", "plan.samples",
        "plan.seed");
    private static final Map<String, Integer> DTYPES = Map.of("bfloat16", 2, "float16", 2, "float32", 4);

    public static PlanSettings from(JobConfig c) {
        c.section("plan").requireOnly(Set.of("device-flops", "device-bandwidth", "dtype", "samples", "seed"));
        double flops = c.numberOr("plan.device-flops", DEFAULT_FLOPS);
        c.require(flops > 0 && !Double.isInfinite(flops), "plan.device-flops", "a positive FLOP rate (FLOP/s, e.g. 989e12)", flops);
        double bandwidth = c.numberOr("plan.device-bandwidth", DEFAULT_BANDWIDTH);
        c.require(bandwidth > 0 && !Double.isInfinite(bandwidth), "plan.device-bandwidth",
            "a positive memory bandwidth (bytes/s, e.g. 3.35e12)", bandwidth);
        String dtype = c.choice("plan.dtype", "bfloat16", DTYPES.keySet());
        int samples = c.boundedIntOr("plan.samples", 400, 1, 100_000, "each sample draws one generation's offspring");
        return new PlanSettings(flops, bandwidth, DTYPES.get(dtype), dtype, samples, c.integerOr("plan.seed", 0));
    }
}
