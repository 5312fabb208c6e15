package io.evocompress.database;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.EvocompressException;
import io.evocompress.calibration.Hessian;
import io.evocompress.checkpoint.Float16;
import io.evocompress.compress.CompressedLayer;
import io.evocompress.compress.Gptq;
import io.evocompress.compress.PreparedHessian;
import io.evocompress.compress.SparseGpt;
import io.evocompress.compress.SparsityPattern;
import io.evocompress.fitness.VariantSource;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A small database written with {@link LayerLevels} and a manifest: the reader returns the
 * compressor's variants (level 0 = SparseGPT at the target, bits = GPTQ's codes and fp16 scales),
 * and a missing manifest, a corrupt or a truncated variant file are errors naming the file.
 */
class VariantDatabaseTest {
    private static final int ROWS = 16;
    private static final int COLS = 24;

    @Test
    void readsVariantsAndNamesDamagedFiles(@TempDir java.nio.file.Path tmp) throws Exception {
        Path root = HadoopFiles.path(tmp.resolve("db").toString());
        FileSystem fs = HadoopFiles.fileSystem(root, HadoopFiles.defaultConf());
        fs.setWriteChecksum(false);
        EvocompressException missing = assertThrows(EvocompressException.class, () -> VariantDatabase.open(fs, root));
        assertTrue(missing.getMessage().contains("not a variant database") && missing.getMessage().contains("build-db"),
            missing.getMessage());

        Hessian h = hessian();
        float[] w = weight();
        VariantStore store = new VariantStore(fs, root);
        CompressorSettings sparsity = CompressorSettings.sparsity(new SparsityGrid(0.5, 2, 40), 0.01, 128, 2);
        CompressorSettings bits = CompressorSettings.bits(List.of(3, 2), 8, false, false, 0.01, 128);
        VariantStore.LayerRecord a;
        VariantStore.LayerRecord b;
        CompressedLayer reference;
        CompressedLayer reference3;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray weight = m.create(w, new Shape(ROWS, COLS));
            PreparedHessian prepared = PreparedHessian.of(h, 0.01);
            a = LayerLevels.build(store, "model.layers.0.mlp.up_proj", weight, prepared, sparsity, "id");
            b = LayerLevels.build(store, "model.layers.0.mlp.down_proj", weight, prepared, bits, "id");
            reference = SparseGpt.prune(weight, h, SparsityPattern.unstructured(0.5));
            reference3 = Gptq.quantize(weight, h, io.evocompress.compress.QuantizationSpec.grouped(3, 8));
        }
        assertEquals(List.of(-2, -1, 0, 1, 2), a.levels().stream().map(VariantStore.LayerRecord.Level::level).toList());
        assertEquals(List.of(2, 3), b.levels().stream().map(VariantStore.LayerRecord.Level::level).toList());
        assertEquals(0.5 + 40.0 / (ROWS * COLS), a.level(1).sparsity());
        DatabaseManifest manifest = new DatabaseManifest(DatabaseManifest.FORMAT_VERSION, "id", "sparsity", null, null,
            sparsity.toJson(), sparsity.hash(), List.of(a, b), DatabaseManifest.totals(List.of(a, b)));
        VariantDatabase.writeManifest(fs, root, manifest);

        VariantSource db = VariantDatabase.open(fs, root);
        // level 0: SparseGPT at the target, values in fp16
        float[] level0 = db.variant("model.layers.0.mlp.up_proj", 0).dense();
        for (int i = 0; i < level0.length; i++) {
            assertEquals(Float16.f16ToFloat(Float16.floatToF16(reference.weight()[i])), level0[i], "weight " + i);
        }
        assertEquals(reference.errorEstimate(), a.level(0).error());
        // 3 bits: GPTQ's codes and zeros, its scales in fp16
        LayerVariant.Quantized q = (LayerVariant.Quantized) db.variant("model.layers.0.mlp.down_proj", 3);
        LayerVariant.Quantized expected = LayerLevels.toVariant(reference3.quantized(), 8);
        assertArrayEquals(expected.q(), q.q());
        assertArrayEquals(expected.zeros(), q.zeros());
        for (int i = 0; i < q.scales().length; i++) {
            assertEquals(Float16.f16ToFloat(Float16.floatToF16(expected.scales()[i])), q.scales()[i]);
        }
        // totals: the dense fp16 layout of both layers, and 5 + 2 variants
        assertEquals(2L * 2 * ROWS * COLS, manifest.totals().denseFp16Bytes());
        assertEquals(7, manifest.totals().variants());
        // an unknown level or layer names it
        assertTrue(assertThrows(EvocompressException.class, () -> db.variant("model.layers.0.mlp.up_proj", 7))
            .getMessage().contains("no level 7"));
        assertTrue(assertThrows(EvocompressException.class, () -> db.variant("model.layers.9.mlp.up_proj", 0))
            .getMessage().contains("model.layers.9.mlp.up_proj"));

        // a flipped byte, then a truncated file: errors name the file
        java.nio.file.Path file = tmp.resolve("db/model.layers.0.mlp.up_proj/levelp1.bin");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 3] ^= 0x04;
        Files.write(file, bytes);
        EvocompressException corrupt = assertThrows(EvocompressException.class, () -> db.variant("model.layers.0.mlp.up_proj", 1));
        assertTrue(corrupt.getMessage().contains("model.layers.0.mlp.up_proj/levelp1.bin")
            && corrupt.getMessage().contains("corrupt"), corrupt.getMessage());
        java.nio.file.Path other = tmp.resolve("db/model.layers.0.mlp.down_proj/levelp2.bin");
        Files.write(other, java.util.Arrays.copyOf(Files.readAllBytes(other), 30));
        EvocompressException truncated = assertThrows(EvocompressException.class, () -> db.variant("model.layers.0.mlp.down_proj", 2));
        assertTrue(truncated.getMessage().contains("levelp2.bin"), truncated.getMessage());
        // a damaged manifest is a clear error too
        Files.writeString(tmp.resolve("db/manifest.json"), "{\"formatVersion\": 1, \"layers\": [");
        EvocompressException bad = assertThrows(EvocompressException.class, () -> VariantDatabase.open(fs, root));
        assertTrue(bad.getMessage().contains("manifest.json") && bad.getMessage().contains("build-db"), bad.getMessage());
    }

    private static Hessian hessian() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 64;
        double[] h = new double[COLS * COLS];
        for (int t = 0; t < n; t++) {
            double[] x = new double[COLS];
            for (int i = 0; i < COLS; i++) {
                x[i] = r.nextGaussian();
            }
            for (int i = 0; i < COLS; i++) {
                for (int j = 0; j < COLS; j++) {
                    h[i * COLS + j] += 2.0 / n * x[i] * x[j];
                }
            }
        }
        return new Hessian(COLS, n, h);
    }

    private static float[] weight() {
        SplittableRandom r = new SplittableRandom(5);
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (0.1 * r.nextGaussian());
        }
        return w;
    }
}
