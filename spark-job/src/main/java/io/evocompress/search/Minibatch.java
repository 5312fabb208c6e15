package io.evocompress.search;

import java.util.Arrays;

/**
 * The tokens one selection stage scores every candidate on: indices of sequences in the
 * calibration pool, each cut to a length, totalling exactly the stage's token count (the last
 * sequence truncated). Drawn from the job's seed, the generation and the stage, so a resumed run
 * or a retried task sees the same tokens.
 *
 * @param sequences indices into the calibration pool
 * @param lengths   tokens used from the start of each sequence (same length as sequences)
 */
public record Minibatch(int[] sequences, int[] lengths) {
    public Minibatch {
        if (sequences.length != lengths.length) {
            throw new IllegalArgumentException("sequences and lengths differ in length");
        }
        sequences = sequences.clone();
        lengths = lengths.clone();
    }

    public long tokens() {
        long t = 0;
        for (int l : lengths) {
            t += l;
        }
        return t;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Minibatch m && Arrays.equals(sequences, m.sequences) && Arrays.equals(lengths, m.lengths);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(sequences) + Arrays.hashCode(lengths);
    }
}
