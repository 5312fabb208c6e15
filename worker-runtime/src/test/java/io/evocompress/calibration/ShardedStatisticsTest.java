package io.evocompress.calibration;

import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.model.CausalLm;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shards of the calibration sequences, each accumulated on its own and combined by sequence count,
 * give the Hessian and input norms of one pass over all sequences (stories260K, real text); the
 * Hessian file keeps them bit for bit and rejects damaged bytes naming the file.
 */
class ShardedStatisticsTest {

    @Test
    void shardsCombineToTheOnePassStatisticsAndSurviveTheFileForm() {
        java.nio.file.Path dir = Fixtures.stories260k();
        List<int[]> sequences = CalibrationFixtures.calibration(dir, 7, 32);
        List<Map<InputGroup, PartialStatistics>> whole = new ArrayList<>();
        List<List<Map<InputGroup, PartialStatistics>>> shards = new ArrayList<>();
        try (CausalLm model = CalibrationFixtures.load(dir)) {
            DenseCalibration.forEachBlockPartial(model, sequences, 4, 2, (b, parts) -> whole.add(parts));
            // shards by index modulo 3: sizes 3, 2, 2, batch size 2 (other batch boundaries than the one pass)
            for (int s = 0; s < 3; s++) {
                List<int[]> mine = new ArrayList<>();
                for (int i = s; i < sequences.size(); i += 3) {
                    mine.add(sequences.get(i));
                }
                List<Map<InputGroup, PartialStatistics>> blocks = new ArrayList<>();
                DenseCalibration.forEachBlockPartial(model, mine, 2, 2, (b, parts) -> blocks.add(parts));
                shards.add(blocks);
            }
        }
        for (int block = 0; block < 2; block++) {
            for (InputGroup g : InputGroup.values()) {
                List<PartialStatistics> parts = new ArrayList<>();
                for (List<Map<InputGroup, PartialStatistics>> shard : shards) {
                    parts.add(shard.get(block).get(g));
                }
                PartialStatistics combined = PartialStatistics.combine(parts);
                PartialStatistics one = whole.get(block).get(g);
                assertEquals(7, combined.hessian().sequences());
                double scale = 0;
                for (double v : one.hessian().values()) {
                    scale = Math.max(scale, Math.abs(v));
                }
                assertTrue(scale > 0);
                double[] a = one.hessian().values();
                double[] c = combined.hessian().values();
                for (int i = 0; i < a.length; i++) {
                    assertEquals(a[i], c[i], 1e-6 * scale, "block " + block + " " + g + " entry " + i);
                }
                for (int j = 0; j < one.dim(); j++) {
                    assertEquals(one.sumSquares()[j], combined.sumSquares()[j], 1e-6 * one.sumSquares()[j] + 1e-12);
                }
                // the file form is exact
                PartialStatistics back = HessianFile.decode(HessianFile.encode(combined), "x.bin");
                assertArrayEquals(combined.hessian().values(), back.hessian().values());
                assertArrayEquals(combined.sumSquares(), back.sumSquares());
                assertEquals(7, back.hessian().sequences());
            }
        }
        // combining in the same order is deterministic to the bit
        List<PartialStatistics> parts = List.of(shards.get(0).get(1).get(InputGroup.DOWN), shards.get(1).get(1).get(InputGroup.DOWN),
            shards.get(2).get(1).get(InputGroup.DOWN));
        assertArrayEquals(HessianFile.encode(PartialStatistics.combine(parts)), HessianFile.encode(PartialStatistics.combine(parts)));
        // damaged bytes are detected and the file named
        byte[] bytes = HessianFile.encode(PartialStatistics.combine(parts));
        bytes[100] ^= 1;
        EvocompressException e = assertThrows(EvocompressException.class, () -> HessianFile.decode(bytes, "hdfs://nn/db/hessians/block-1/down.bin"));
        assertTrue(e.getMessage().contains("block-1/down.bin") && e.getMessage().contains("corrupt"), e.getMessage());
        byte[] truncated = java.util.Arrays.copyOf(HessianFile.encode(PartialStatistics.combine(parts)), 40);
        assertThrows(EvocompressException.class, () -> HessianFile.decode(truncated, "t.bin"));
    }
}
