package io.evocompress.search;

import io.evocompress.EvocompressException;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The calibration sequences the selection stages draw their minibatches from: {@code sequences}
 * sequences of {@code sequenceLength} tokens each (indices 0..sequences-1, as the evaluator holds them).
 */
public record CalibrationPool(int sequences, int sequenceLength) {
    public CalibrationPool {
        if (sequences < 1 || sequenceLength < 1) {
            throw new EvocompressException("calibration pool needs at least one sequence of at least one token, but had "
                + sequences + " sequences of " + sequenceLength);
        }
    }

    public long tokens() {
        return (long) sequences * sequenceLength;
    }

    /**
     * A minibatch of exactly {@code tokens} tokens: ceil(tokens / length) distinct sequences drawn
     * uniformly, in ascending index order, the last one truncated.
     */
    public Minibatch draw(long tokens, RandomGenerator random) {
        check(tokens, "minibatch");
        int count = (int) ((tokens + sequenceLength - 1) / sequenceLength);
        int[] order = java.util.stream.IntStream.range(0, sequences).toArray();
        for (int i = 0; i < count; i++) { // partial Fisher-Yates shuffle
            int j = i + random.nextInt(sequences - i);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        int[] picked = Arrays.copyOf(order, count);
        Arrays.sort(picked);
        int[] lengths = new int[count];
        Arrays.fill(lengths, sequenceLength);
        lengths[count - 1] = (int) (tokens - (long) (count - 1) * sequenceLength);
        return new Minibatch(picked, lengths);
    }

    /** Fails when {@code tokens} is not in 1..tokens(). */
    public void check(long tokens, String what) {
        if (tokens < 1 || tokens > tokens()) {
            throw new EvocompressException(what + " of " + tokens + " tokens does not fit the calibration pool of "
                + sequences + " x " + sequenceLength + " = " + tokens() + " tokens: use more calibration sequences or fewer tokens");
        }
    }
}
