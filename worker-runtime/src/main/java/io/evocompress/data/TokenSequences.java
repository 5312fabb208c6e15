package io.evocompress.data;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Calibration and evaluation sequences from a token stream: the documents' tokens concatenated
 * after one {@code <s>}, then cut into fixed-length sequences or sampled as random windows.
 */
public final class TokenSequences {
    private TokenSequences() {
    }

    /**
     * {@code <s>} followed by each document's tokens (no special tokens), stopping once
     * {@code maxTokens} are collected (0: no limit).
     */
    public static int[] stream(TextTokenizer tokenizer, List<String> documents, int bosId, long maxTokens) {
        int[] out = new int[1024];
        int n = 0;
        out[n++] = bosId;
        for (String doc : documents) {
            if (maxTokens > 0 && n >= maxTokens) {
                break;
            }
            int[] ids = tokenizer.encode(doc);
            if (n + ids.length > out.length) {
                out = Arrays.copyOf(out, Math.max(out.length * 2, n + ids.length));
            }
            System.arraycopy(ids, 0, out, n, ids.length);
            n += ids.length;
        }
        return Arrays.copyOf(out, maxTokens > 0 ? (int) Math.min(n, maxTokens) : n);
    }

    /**
     * Consecutive non-overlapping sequences of {@code seqLen} tokens; a shorter final piece is kept
     * when it has at least 2 tokens (it still predicts something).
     */
    public static List<int[]> chunks(int[] stream, int seqLen) {
        checkSeqLen(seqLen);
        List<int[]> out = new ArrayList<>();
        for (int start = 0; start < stream.length; start += seqLen) {
            int end = Math.min(stream.length, start + seqLen);
            if (end - start >= 2) {
                out.add(Arrays.copyOfRange(stream, start, end));
            }
        }
        return out;
    }

    /**
     * {@code ceil(tokens / seqLen)} windows of {@code seqLen} tokens at random offsets drawn from
     * {@code seed}: the same seed always gives the same windows.
     */
    public static List<int[]> sample(int[] stream, int seqLen, long tokens, long seed) {
        checkSeqLen(seqLen);
        if (stream.length < seqLen) {
            throw new EvocompressException("The calibration text holds " + stream.length + " tokens, fewer than one sequence of "
                + seqLen + ": use more text or a shorter sequence length.");
        }
        int[] starts = offsets(stream.length, seqLen, tokens, seed);
        List<int[]> out = new ArrayList<>(starts.length);
        for (int start : starts) {
            out.add(Arrays.copyOfRange(stream, start, start + seqLen));
        }
        return out;
    }

    /** Where {@link #sample} cuts its windows from a stream of {@code streamLength} tokens: the windows' first offsets, in order. */
    public static int[] offsets(int streamLength, int seqLen, long tokens, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] starts = new int[(int) ((tokens + seqLen - 1) / seqLen)];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = random.nextInt(streamLength - seqLen + 1);
        }
        return starts;
    }

    /**
     * Consecutive non-overlapping sequences of exactly {@code seqLen} tokens, in stream order, cut from
     * the stretches of the stream that share no token with any window {@code [start, start + seqLen)}
     * of {@code windowStarts} (e.g. {@link #sample}'s): tokens disjoint from every such window.
     */
    public static List<int[]> outside(int[] stream, int seqLen, int[] windowStarts) {
        checkSeqLen(seqLen);
        boolean[] covered = new boolean[stream.length];
        for (int start : windowStarts) {
            Arrays.fill(covered, Math.max(0, start), Math.min(stream.length, start + seqLen), true);
        }
        List<int[]> out = new ArrayList<>();
        int run = 0; // uncovered tokens just before i
        for (int i = 0; i < stream.length; i++) {
            run = covered[i] ? 0 : run + 1;
            if (run == seqLen) {
                out.add(Arrays.copyOfRange(stream, i + 1 - seqLen, i + 1));
                run = 0;
            }
        }
        return out;
    }

    private static void checkSeqLen(int seqLen) {
        if (seqLen < 2) {
            throw new EvocompressException("Sequence length must be at least 2, but was " + seqLen);
        }
    }
}
