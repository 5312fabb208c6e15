package io.evocompress.calibration;

import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.model.CausalLm;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Hessian's path from the accumulator to the file in row blocks ({@link RowBlockMatrix}) changes
 * no bit: on stories260K's real calibration statistics (inputs of 64 and 172 features), read off the
 * device, combined across shards and written, with row blocks of 1 KiB (one to two rows, so 64 to 172
 * blocks), the values and the file bytes equal those of one block, also when an accumulator writes its
 * file straight off the device ({@link HessianAccumulator#writePartial}); the streamed shard combination
 * ({@link HessianFile#combine}) writes the same bytes as decoding, combining and encoding; and a
 * streamed file that is cut short or damaged is refused naming it.
 */
class ChunkedHessianTest {

    @Test
    void rowBlocksKeepEveryBitFromTheAccumulatorToTheFile() throws IOException {
        List<List<Map<InputGroup, PartialStatistics>>> whole = shards();
        String before = System.getProperty(RowBlockMatrix.CHUNK_PROPERTY);
        System.setProperty(RowBlockMatrix.CHUNK_PROPERTY, "1024");
        try {
            List<List<Map<InputGroup, PartialStatistics>>> chunked = shards();
            for (int block = 0; block < 2; block++) {
                for (InputGroup g : InputGroup.values()) {
                    List<PartialStatistics> a = new ArrayList<>();
                    List<PartialStatistics> b = new ArrayList<>();
                    List<byte[]> files = new ArrayList<>();
                    for (int s = 0; s < whole.size(); s++) {
                        PartialStatistics one = whole.get(s).get(block).get(g);
                        PartialStatistics rows = chunked.get(s).get(block).get(g);
                        assertTrue(rows.hessian().rows().blockCount() >= rows.dim() / 2, g + " spans many blocks");
                        assertArrayEquals(one.hessian().values(), rows.hessian().values(), "block " + block + " " + g);
                        assertArrayEquals(HessianFile.encode(one), HessianFile.encode(rows));
                        a.add(one);
                        b.add(rows);
                        files.add(HessianFile.encode(rows));
                    }
                    for (boolean float32 : new boolean[] {false, true}) {
                        byte[] expected = HessianFile.encode(PartialStatistics.combine(a), float32);
                        assertArrayEquals(expected, HessianFile.encode(PartialStatistics.combine(b), float32));
                        ByteArrayOutputStream out = new ByteArrayOutputStream();
                        List<InputStream> in = new ArrayList<>();
                        long[] lengths = new long[files.size()];
                        for (int s = 0; s < files.size(); s++) {
                            in.add(new ByteArrayInputStream(files.get(s)));
                            lengths[s] = s == 0 ? -1 : files.get(s).length;
                        }
                        long written = HessianFile.combine(in, List.of("s0", "s1", "s2"), lengths, float32, out);
                        assertEquals(expected.length, written);
                        assertArrayEquals(expected, out.toByteArray(), "streamed combination, float32 " + float32);
                        PartialStatistics back = HessianFile.read(new ByteArrayInputStream(expected), -1, "x.bin");
                        assertArrayEquals(HessianFile.decode(expected, "x.bin").hessian().values(), back.hessian().values());
                    }
                }
            }
            byte[] file = HessianFile.encode(whole.get(0).get(1).get(InputGroup.DOWN));
            byte[] cut = java.util.Arrays.copyOf(file, file.length / 2);
            EvocompressException e = assertThrows(EvocompressException.class,
                () -> HessianFile.read(new ByteArrayInputStream(cut), -1, "hdfs://nn/db/hessians/block-1/down.bin"));
            assertTrue(e.getMessage().contains("block-1/down.bin") && e.getMessage().contains("truncated"), e.getMessage());
            file[file.length / 2] ^= 1;
            e = assertThrows(EvocompressException.class, () -> HessianFile.read(new ByteArrayInputStream(file), -1, "d.bin"));
            assertTrue(e.getMessage().contains("d.bin") && e.getMessage().contains("corrupt"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(RowBlockMatrix.CHUNK_PROPERTY);
            } else {
                System.setProperty(RowBlockMatrix.CHUNK_PROPERTY, before);
            }
        }
    }

    /** Three shards' partial statistics of blocks 0 and 1, shard s taking sequences s, s + 3, ... */
    private static List<List<Map<InputGroup, PartialStatistics>>> shards() {
        java.nio.file.Path dir = Fixtures.stories260k();
        List<int[]> sequences = CalibrationFixtures.calibration(dir, 7, 32);
        List<List<Map<InputGroup, PartialStatistics>>> shards = new ArrayList<>();
        try (CausalLm model = CalibrationFixtures.load(dir)) {
            for (int s = 0; s < 3; s++) {
                List<int[]> mine = new ArrayList<>();
                for (int i = s; i < sequences.size(); i += 3) {
                    mine.add(sequences.get(i));
                }
                List<Map<InputGroup, PartialStatistics>> blocks = new ArrayList<>();
                DenseCalibration.forEachBlockAccumulators(model, mine, 2, 2, (b, accumulators) -> {
                    Map<InputGroup, PartialStatistics> parts = new java.util.EnumMap<>(InputGroup.class);
                    accumulators.forEach((g, acc) -> {
                        PartialStatistics part = acc.partial();
                        // written straight off the device, row block by row block: the bytes of the partial's file
                        ByteArrayOutputStream direct = new ByteArrayOutputStream();
                        try {
                            assertEquals(HessianFile.size(part.dim(), false), acc.writePartial(direct));
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        assertArrayEquals(HessianFile.encode(part), direct.toByteArray(), "block " + b + " " + g);
                        parts.put(g, part);
                    });
                    blocks.add(parts);
                });
                shards.add(blocks);
            }
        }
        return shards;
    }
}
