package io.evocompress.database;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.evocompress.Fixtures;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.calibration.Hessian;
import io.evocompress.calibration.HessianAccumulator;
import io.evocompress.compress.OutputError;
import io.evocompress.compress.PreparedHessian;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LinearName;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The output energy {@link LayerLevels#build} records, on real layers of block 1 of stories260K with
 * the Hessians of their real inputs (8 TinyStories windows of 64 tokens): it is 1/2 sum_r w_r H w_r^T
 * as {@link OutputError#energy} computes it in plain Java, and it is what it claims to be, the dense
 * outputs' squared norm per sequence, ||W X^T||^2 / n, summed in plain Java from the inputs
 * themselves (H never formed).
 */
class LayerLevelsEnergyTest {
    private static final int BLOCK = 1;
    private static final int SEQUENCES = 8;
    private static final int SEQ_LEN = 64;

    @Test
    void recordedEnergyIsTheDenseOutputNormPerSequence(@TempDir java.nio.file.Path tmp) {
        java.nio.file.Path dir = Fixtures.stories260k();
        List<int[]> sequences = CalibrationFixtures.calibration(dir, SEQUENCES, SEQ_LEN);
        Path root = HadoopFiles.path(tmp.resolve("db").toString());
        FileSystem fs = HadoopFiles.fileSystem(root, HadoopFiles.defaultConf());
        VariantStore store = new VariantStore(fs, root);
        CompressorSettings sparsity = CompressorSettings.sparsity(new SparsityGrid(0.5, 0, 16), 0.01, 128, 2);
        CompressorSettings bits = CompressorSettings.bits(List.of(4), 16, false, false, 0.01, 128);

        Map<LinearName, float[]> inputs = new EnumMap<>(LinearName.class);
        Map<LinearName, Hessian> hessians = new EnumMap<>(LinearName.class);
        try (CausalLm model = CalibrationFixtures.load(dir); NDManager m = model.manager().newSubManager()) {
            int[] flat = new int[SEQUENCES * SEQ_LEN];
            for (int i = 0; i < SEQUENCES; i++) {
                System.arraycopy(sequences.get(i), 0, flat, i * SEQ_LEN, SEQ_LEN);
            }
            NDArray hidden = model.runBlocks(model.embed(m.create(flat, new Shape(SEQUENCES, SEQ_LEN))), 0, BLOCK);
            Map<LinearName, HessianAccumulator> acc = new EnumMap<>(LinearName.class);
            acc.put(LinearName.Q_PROJ, new HessianAccumulator(m, model.config().hiddenSize()));
            acc.put(LinearName.DOWN_PROJ, new HessianAccumulator(m, model.config().intermediateSize()));
            model.runBlock(hidden, BLOCK, (name, x) -> {
                if (acc.containsKey(name)) {
                    inputs.put(name, x.toFloatArray());
                    acc.get(name).add(x);
                }
            });
            acc.forEach((name, a) -> hessians.put(name, a.hessian()));
            acc.values().forEach(HessianAccumulator::close);

            // q and k share one input (and H); down reads silu(gate) * up
            List<LinearName> layers = List.of(LinearName.Q_PROJ, LinearName.K_PROJ, LinearName.DOWN_PROJ);
            double[] energies = new double[layers.size()];
            for (int l = 0; l < layers.size(); l++) {
                LinearName name = layers.get(l);
                LinearName input = name == LinearName.DOWN_PROJ ? LinearName.DOWN_PROJ : LinearName.Q_PROJ;
                Hessian h = hessians.get(input);
                NDArray weight = model.block(BLOCK).weight(name);
                float[] w = weight.toFloatArray();
                int rows = Math.toIntExact(weight.getShape().get(0));
                int in = h.dim();
                String unit = "model.layers." + BLOCK + "." + name.path();

                double plain = OutputError.energy(w, h);
                double direct = outputNormPerSequence(w, rows, in, inputs.get(input), SEQUENCES);
                VariantStore.LayerRecord record;
                try (NDManager task = NDManager.newBaseManager(model.device())) {
                    NDArray taskWeight = task.create(w, new Shape(rows, in));
                    record = LayerLevels.build(store, unit, taskWeight,
                        PreparedHessian.of(h, 0.01), name == LinearName.K_PROJ ? bits : sparsity, "id");
                    // the weight is the caller's and usable afterwards; a mismatched H is refused
                    assertFalse(taskWeight.isReleased());
                    assertEquals(record.outputEnergy(), LayerLevels.outputEnergy(taskWeight, h));
                    Hessian other = hessians.get(input == LinearName.Q_PROJ ? LinearName.DOWN_PROJ : LinearName.Q_PROJ);
                    assertThrows(IllegalArgumentException.class, () -> LayerLevels.outputEnergy(taskWeight, other));
                }
                double stored = record.outputEnergy();
                System.out.printf("%s [%dx%d]: device %.15e, OutputError %.15e, from inputs %.15e%n",
                    unit, rows, in, stored, plain, direct);
                assertTrue(plain > 0, unit);
                assertEquals(plain, stored, 1e-9 * plain, unit + ": device float64 against plain Java");
                assertEquals(direct, stored, 1e-9 * direct, unit + ": against ||W X^T||^2 / n from the inputs");
                // what a resumed build reads back is the same number
                assertEquals(stored, store.verifiedRecord(unit, "id").outputEnergy());
                energies[l] = stored;
            }
            // three different layers, three different energies (the measure sees the weights)
            assertTrue(energies[0] != energies[1] && energies[1] != energies[2] && energies[0] != energies[2]);
        }
    }

    /** sum over the n sequences' tokens x of ||W x||^2, divided by n, in plain Java double. */
    private static double outputNormPerSequence(float[] w, int rows, int in, float[] x, int sequences) {
        int tokens = x.length / in;
        double total = 0;
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                double y = 0;
                for (int i = 0; i < in; i++) {
                    y += (double) w[r * in + i] * x[t * in + i];
                }
                total += y * y;
            }
        }
        return total / sequences;
    }
}
