package io.evocompress.train;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Training batches drawn from one token stream: step s gets {@code batchSize} windows of
 * {@code seqLen} tokens at offsets drawn from a generator seeded by (seed, s) alone. A step's batch
 * therefore never depends on the steps before it, which is what makes a resumed run see exactly the
 * batches the uninterrupted run would have seen.
 */
public final class TokenBatches {
    private final int[] stream;
    private final int seqLen;
    private final int batchSize;
    private final long seed;

    public TokenBatches(int[] stream, int seqLen, int batchSize, long seed) {
        if (seqLen < 2) {
            throw new EvocompressException("Training sequence length must be at least 2, but was " + seqLen);
        }
        if (batchSize < 1) {
            throw new EvocompressException("Training batch size must be at least 1, but was " + batchSize);
        }
        if (stream.length < seqLen) {
            throw new EvocompressException("The training text holds " + stream.length
                + " tokens, fewer than one sequence of " + seqLen + ": use more text or a shorter sequence length.");
        }
        this.stream = stream;
        this.seqLen = seqLen;
        this.batchSize = batchSize;
        this.seed = seed;
    }

    public int seqLen() {
        return seqLen;
    }

    public int batchSize() {
        return batchSize;
    }

    /** The batch of step {@code step} (0-based): always the same windows for the same seed and step. */
    public List<int[]> batch(long step) {
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step);
        List<int[]> out = new ArrayList<>(batchSize);
        for (int i = 0; i < batchSize; i++) {
            int start = random.nextInt(stream.length - seqLen + 1);
            out.add(Arrays.copyOfRange(stream, start, start + seqLen));
        }
        return out;
    }
}
