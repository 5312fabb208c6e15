package io.evocompress.fitness;

import io.evocompress.EvocompressException;

import java.io.Serializable;

/**
 * What every candidate evaluation of a search shares: where the dense model and the variant
 * database are, which device and dtype the forward uses, and the fitness.
 *
 * @param model             dense model location (any Hadoop file system)
 * @param database          variant database location, passed to the {@link VariantSourceOpener}
 * @param device            auto, cpu, gpu or gpu:N (see DeviceChoice)
 * @param dtype             auto, float32, float16 or bfloat16
 * @param fitness           kl, topk-kl or ppl
 * @param topK              K for topk-kl (ignored otherwise); at least 1
 * @param batchSize         sequences per forward
 * @param variantCacheBytes bound on the variant weights each JVM keeps on a device (LRU)
 * @param maxTeacherBytes   bound on the dense outputs kept per JVM for kl (full log-probabilities)
 * @param residency         resident: each candidate stitched into the JVM's resident model, one at a time;
 *                          streamed: a task's candidates scored together on the dense model streamed block by
 *                          block, shared prefixes once ({@link SharedPrefixScorer}); auto: streamed when the
 *                          model in the compute dtype exceeds {@code deviceMemory}. The same scores either way.
 * @param deviceMemory      bytes auto compares against; 0 for the device's free memory
 */
public record EvaluationSetup(String model, String database, String device, String dtype, FitnessKind fitness,
                              int topK, int batchSize, long variantCacheBytes, long maxTeacherBytes,
                              io.evocompress.model.Residency residency, long deviceMemory) implements Serializable {

    public EvaluationSetup(String model, String database, String device, String dtype, FitnessKind fitness,
                           int topK, int batchSize, long variantCacheBytes, long maxTeacherBytes) {
        this(model, database, device, dtype, fitness, topK, batchSize, variantCacheBytes, maxTeacherBytes,
            io.evocompress.model.Residency.RESIDENT, 0);
    }

    public static final int DEFAULT_TOP_K = 512;
    public static final long DEFAULT_VARIANT_CACHE_BYTES = 2L << 30;
    public static final long DEFAULT_MAX_TEACHER_BYTES = 4L << 30;

    public EvaluationSetup {
        if (model == null || model.isBlank()) {
            throw new EvocompressException("evaluation needs the dense model location, but none was given");
        }
        if (fitness == null) {
            throw new EvocompressException("evaluation needs a fitness (kl, topk-kl or ppl), but none was given");
        }
        if (topK < 1) {
            throw new EvocompressException("top-K for topk-kl must be at least 1, but was " + topK);
        }
        if (batchSize < 1) {
            throw new EvocompressException("evaluation batch size must be at least 1, but was " + batchSize);
        }
        if (residency == null) {
            residency = io.evocompress.model.Residency.RESIDENT;
        }
        if (variantCacheBytes < 0 || maxTeacherBytes < 0) {
            throw new EvocompressException("cache bounds must not be negative, but were " + variantCacheBytes + " and "
                + maxTeacherBytes);
        }
    }

    /** Default device (auto), dtype (auto), K (512) and cache bounds. */
    public static EvaluationSetup of(String model, String database, FitnessKind fitness, int batchSize) {
        return new EvaluationSetup(model, database, "auto", "auto", fitness, DEFAULT_TOP_K, batchSize,
            DEFAULT_VARIANT_CACHE_BYTES, DEFAULT_MAX_TEACHER_BYTES);
    }

    public EvaluationSetup withDevice(String newDevice, String newDtype) {
        return new EvaluationSetup(model, database, newDevice, newDtype, fitness, topK, batchSize, variantCacheBytes,
            maxTeacherBytes, residency, deviceMemory);
    }

    public EvaluationSetup withFitness(FitnessKind kind) {
        return new EvaluationSetup(model, database, device, dtype, kind, topK, batchSize, variantCacheBytes, maxTeacherBytes,
            residency, deviceMemory);
    }

    public EvaluationSetup withTopK(int k) {
        return new EvaluationSetup(model, database, device, dtype, fitness, k, batchSize, variantCacheBytes, maxTeacherBytes,
            residency, deviceMemory);
    }

    public EvaluationSetup withResidency(io.evocompress.model.Residency newResidency, long newDeviceMemory) {
        return new EvaluationSetup(model, database, device, dtype, fitness, topK, batchSize, variantCacheBytes, maxTeacherBytes,
            newResidency, newDeviceMemory);
    }

    /** K the teacher keeps: 0 (full log-probabilities) for kl, topK for topk-kl. */
    public int teacherTopK() {
        return fitness == FitnessKind.TOPK_KL ? topK : 0;
    }
}
