package io.evocompress.data;

import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cutting a token stream into fixed-length chunks and sampling random windows from it. */
class TokenSequencesTest {

    /** 0, 1, ..., n-1: every window's first element is its offset. */
    private static int[] iota(int n) {
        return IntStream.range(0, n).toArray();
    }

    @Test
    void chunksSmallCases() {
        assertEquals("[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]", str(TokenSequences.chunks(iota(10), 4)));
        assertEquals("[[0, 1, 2, 3], [4, 5, 6, 7]]", str(TokenSequences.chunks(iota(9), 4)), "a 1-token tail is dropped");
        assertEquals("[[0, 1, 2, 3], [4, 5, 6, 7]]", str(TokenSequences.chunks(iota(8), 4)));
        assertEquals("[]", str(TokenSequences.chunks(iota(1), 4)), "a lone token predicts nothing");
        assertEquals("[[0, 1]]", str(TokenSequences.chunks(iota(2), 4)));
        assertEquals("[]", str(TokenSequences.chunks(new int[0], 2)));
    }

    @Test
    void chunkCountsMatchTheClosedForm() {
        for (int seqLen = 2; seqLen <= 9; seqLen++) {
            for (int n = 0; n <= 60; n++) {
                List<int[]> chunks = TokenSequences.chunks(iota(n), seqLen);
                int full = n / seqLen;
                int tail = n % seqLen;
                int expected = full + (tail >= 2 ? 1 : 0);
                String where = "n=" + n + " seqLen=" + seqLen;
                assertEquals(expected, chunks.size(), where);
                // The chunks are the stream in order, less a final lone token.
                int[] joined = chunks.stream().flatMapToInt(Arrays::stream).toArray();
                assertArrayEquals(iota(tail == 1 ? n - 1 : n), joined, where);
                for (int i = 0; i < full; i++) {
                    assertEquals(seqLen, chunks.get(i).length, where);
                }
            }
        }
    }

    @Test
    void sequenceLengthBelowTwoIsRejected() {
        EvocompressException e = assertThrows(EvocompressException.class, () -> TokenSequences.chunks(iota(10), 1));
        assertEquals("Sequence length must be at least 2, but was 1", e.getMessage());
        e = assertThrows(EvocompressException.class, () -> TokenSequences.sample(iota(10), 0, 10, 1));
        assertEquals("Sequence length must be at least 2, but was 0", e.getMessage());
    }

    @Test
    void sampleGivesCeilTokensOverSeqLenContiguousWindows() {
        int[] stream = iota(1000);
        int seqLen = 64;
        for (long tokens : new long[] {0, 1, 63, 64, 65, 640, 1000, 4097}) {
            List<int[]> windows = TokenSequences.sample(stream, seqLen, tokens, 7);
            long count = (tokens + seqLen - 1) / seqLen;
            assertEquals(count, windows.size(), "tokens=" + tokens);
            assertEquals(count * seqLen, windows.stream().mapToLong(w -> w.length).sum(), "total tokens, tokens=" + tokens);
            for (int[] w : windows) {
                int start = w[0];
                assertTrue(start >= 0 && start <= stream.length - seqLen, "offset " + start);
                assertArrayEquals(Arrays.copyOfRange(stream, start, start + seqLen), w);
            }
        }
    }

    @Test
    void offsetsAreWhereSampleCutsItsWindows() {
        int[] stream = iota(1000);
        int[] starts = TokenSequences.offsets(stream.length, 64, 640, 7);
        List<int[]> windows = TokenSequences.sample(stream, 64, 640, 7);
        assertEquals(10, starts.length);
        for (int i = 0; i < starts.length; i++) {
            assertEquals(starts[i], windows.get(i)[0], "window " + i);
        }
    }

    @Test
    void outsideCutsWholeSequencesFromTheUncoveredStretchesOnly() {
        // windows [3, 7) and [10, 14): uncovered 0-2 and 7-9 are too short, 14-19 holds one sequence of 4
        assertEquals("[[14, 15, 16, 17]]", str(TokenSequences.outside(iota(20), 4, new int[] {3, 10})));
        assertEquals("[[0, 1, 2, 3], [4, 5, 6, 7]]", str(TokenSequences.outside(iota(10), 4, new int[0])));
        assertEquals("[[4, 5, 6, 7]]", str(TokenSequences.outside(iota(12), 4, new int[] {0, 8, 8})));
        // sampled windows: no sequence outside shares a token with any of them
        int[] stream = iota(5000);
        int[] starts = TokenSequences.offsets(stream.length, 50, 1000, 3);
        List<int[]> outside = TokenSequences.outside(stream, 50, starts);
        assertFalse(outside.isEmpty());
        for (int[] seq : outside) {
            assertEquals(50, seq.length);
            for (int start : starts) {
                assertTrue(seq[49] < start || seq[0] >= start + 50, Arrays.toString(seq) + " overlaps the window at " + start);
            }
        }
    }

    @Test
    void sampleIsDeterministicPerSeed() {
        int[] stream = iota(1000);
        List<int[]> a = TokenSequences.sample(stream, 32, 320, 42);
        List<int[]> b = TokenSequences.sample(stream, 32, 320, 42);
        List<int[]> c = TokenSequences.sample(stream, 32, 320, 43);
        assertEquals(str(a), str(b), "same seed, same windows");
        assertFalse(str(a).equals(str(c)), "another seed should give other windows");
        // The offsets are spread out, not all the same.
        assertTrue(a.stream().mapToInt(w -> w[0]).distinct().count() > 5, str(a));
    }

    @Test
    void streamExactlyOneSequenceLongAlwaysGivesItself() {
        List<int[]> windows = TokenSequences.sample(iota(16), 16, 48, 5);
        assertEquals(3, windows.size());
        windows.forEach(w -> assertArrayEquals(iota(16), w));
    }

    @Test
    void tooShortStreamIsAClearError() {
        EvocompressException e = assertThrows(EvocompressException.class, () -> TokenSequences.sample(iota(5), 8, 100, 1));
        assertEquals("The calibration text holds 5 tokens, fewer than one sequence of 8: "
            + "use more text or a shorter sequence length.", e.getMessage());
    }

    @Test
    void streamStopsAtMaxTokens() {
        Path dir = HadoopFiles.path(Fixtures.stories260k().toString());
        try (TextTokenizer tok = TextTokenizer.load(HadoopFiles.fileSystem(dir, HadoopFiles.defaultConf()), dir)) {
            List<String> docs = List.of("Once upon a time.", "There was a cat.", "The end.");
            int[] all = TokenSequences.stream(tok, docs, 1, 0);
            int expectedLength = 1 + docs.stream().mapToInt(d -> tok.encode(d).length).sum();
            assertEquals(expectedLength, all.length);
            assertEquals(1, all[0]);
            assertArrayEquals(Arrays.copyOf(all, 7), TokenSequences.stream(tok, docs, 1, 7));
            assertArrayEquals(new int[] {1}, TokenSequences.stream(tok, docs, 1, 1));
            assertArrayEquals(all, TokenSequences.stream(tok, docs, 1, 10_000));
        }
    }

    private static String str(List<int[]> seqs) {
        return seqs.stream().map(Arrays::toString).toList().toString();
    }
}
