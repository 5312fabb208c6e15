package io.evocompress.database;

import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.Float16;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VariantCodecTest {

    @Test
    void sparseVariantRoundTripsAndIsSmallerThanDenseFp16() {
        int rows = 64;
        int cols = 128;
        float[] w = new float[rows * cols];
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < w.length; i++) {
            w[i] = r.nextInt(10) < 7 ? 0f : (float) r.nextGaussian();
        }
        LayerVariant.Sparse s = new LayerVariant.Sparse(rows, cols, w);
        byte[] fp32 = VariantCodec.encode(s, 4);
        assertArrayEquals(w, ((LayerVariant.Sparse) VariantCodec.decode(fp32, "v.bin")).weights());
        byte[] fp16 = VariantCodec.encode(s, 2);
        float[] back = VariantCodec.decode(fp16, "v.bin").dense();
        for (int i = 0; i < w.length; i++) {
            assertEquals(Float16.f16ToFloat(Float16.floatToF16(w[i])), back[i]);
        }
        // header 14 + value width 1 + count 8 + mask n/8 + 2 bytes per non-zero + crc 4
        long nnz = w.length - s.zeros();
        assertEquals(14 + 1 + 8 + w.length / 8 + 2 * nnz + 4, fp16.length);
        assertTrue(fp16.length < 0.4 * VariantCodec.denseFp16Bytes(rows, cols), "bytes " + fp16.length);
    }

    @Test
    void quantizedVariantRoundTripsWithMaskAndPacksToBitsOver16OfDenseFp16() {
        int rows = 16;
        int cols = 64;
        int bits = 3;
        int group = 32;
        SplittableRandom r = new SplittableRandom(3);
        int[] q = new int[rows * cols];
        boolean[] mask = new boolean[q.length];
        for (int i = 0; i < q.length; i++) {
            q[i] = r.nextInt(8);
            mask[i] = r.nextBoolean();
        }
        float[] scales = new float[rows * 2];
        int[] zeros = new int[rows * 2];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = Float16.f16ToFloat(Float16.floatToF16((float) (0.01 + r.nextDouble())));
            zeros[i] = r.nextInt(8);
        }
        LayerVariant.Quantized v = new LayerVariant.Quantized(rows, cols, bits, group, q, scales, zeros, mask);
        LayerVariant.Quantized back = (LayerVariant.Quantized) VariantCodec.decode(VariantCodec.encode(v, 2), "q.bin");
        assertArrayEquals(v.dense(), back.dense());
        // w[r, c] = scale[r, c / g] * (q - zero), 0 where masked
        int i = 5 * cols + 40;
        assertEquals(mask[i] ? scales[5 * 2 + 1] * (q[i] - zeros[5 * 2 + 1]) : 0f, back.dense()[i]);
        LayerVariant.Quantized noMask = new LayerVariant.Quantized(rows, cols, bits, group, q, scales, zeros, null);
        int bytes = VariantCodec.encode(noMask, 2).length;
        // header 14 + bits, group, mask flag 6 + q 16*64*3/8 + 32 fp16 scales + 32 zeros of 3 bits + crc 4
        assertEquals(14 + 6 + 384 + 64 + 12 + 4, bytes);
        assertTrue(bytes < 0.25 * VariantCodec.denseFp16Bytes(rows, cols));
    }

    @Test
    void truncatedOrCorruptedFilesAreDetectedNamingTheFile() {
        byte[] good = VariantCodec.encode(new LayerVariant.Sparse(2, 2, new float[] {0, 1, 2, 0}), 4);
        byte[] cut = java.util.Arrays.copyOf(good, good.length - 3);
        EvocompressException e = assertThrows(EvocompressException.class, () -> VariantCodec.decode(cut, "db/l0/q.bin"));
        assertTrue(e.getMessage().contains("db/l0/q.bin") && e.getMessage().contains("checksum"), e.getMessage());
        byte[] flipped = good.clone();
        flipped[20] ^= 1;
        e = assertThrows(EvocompressException.class, () -> VariantCodec.decode(flipped, "db/l0/q.bin"));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
        e = assertThrows(EvocompressException.class, () -> VariantCodec.decode(new byte[5], "x.bin"));
        assertTrue(e.getMessage().contains("x.bin is truncated"), e.getMessage());
    }

    @Test
    void sparsityGridKeepsTotalZerosExactAcrossLayerSizes() {
        SparsityGrid grid = SparsityGrid.withDefaultStep(0.7, 8, 64);
        assertEquals((long) (0.5 * 0.3 / 8 * 64 * 64), grid.delta());
        long small = 64 * 64;
        long large = 172 * 64;
        long base = grid.zeros(small, 0) + grid.zeros(large, 0);
        assertEquals(base, grid.zeros(small, 3) + grid.zeros(large, -3));
        assertEquals(0.7 + 3.0 * grid.delta() / small, grid.sparsity(small, 3), 0.5 / small + 1e-12);
        // levels whose sparsity leaves (0, 1) do not exist
        SparsityGrid wide = new SparsityGrid(0.7, 8, 500);
        assertTrue(wide.levels(small).stream().allMatch(l -> wide.zeros(small, l) > 0 && wide.zeros(small, l) < small));
        assertTrue(wide.levels(small).size() < 17);
    }
}
