package io.evocompress.fitness;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.evocompress.Fixtures;
import io.evocompress.calibration.CalibrationFixtures;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.HostWeightCache;
import io.evocompress.model.StreamedLm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The teacher's outputs computed with the dense model streamed block by block equal the resident ones bit
 * for bit, full log-probabilities and top-K alike, with waves of one batch and of all of them.
 */
class StreamedTeacherOutputsTest {

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "tiny-opt", "tiny-bloom", "tiny-phi3"})
    void streamedTeacherOutputsAreTheResidentOnes(String fixture) {
        java.nio.file.Path dir = Fixtures.model(fixture);
        int[][] pool = CalibrationFixtures.calibration(dir, 5, 48).toArray(new int[0][]);
        int[] all = IntStream.range(0, pool.length).toArray();
        TeacherOutputs fullResident;
        TeacherOutputs topResident;
        try (CausalLm dense = CalibrationFixtures.load(dir)) {
            fullResident = TeacherOutputs.compute(dense, pool, 0, 2, Long.MAX_VALUE);
            topResident = TeacherOutputs.compute(dense, pool, 32, 2, Long.MAX_VALUE);
        }
        for (long activations : new long[] {1, 1L << 30}) {
            try (StreamedLm dense = StreamedLm.open(dir.toString(), HadoopFiles.defaultConf(), Device.cpu(), DataType.FLOAT32,
                     new HostWeightCache(1L << 30));
                 NDManager m = NDManager.newBaseManager(Device.cpu())) {
                TeacherOutputs full = TeacherOutputs.compute(dense, pool, 0, 2, Long.MAX_VALUE, activations);
                TeacherOutputs top = TeacherOutputs.compute(dense, pool, 32, 2, Long.MAX_VALUE, activations);
                assertEquals(fullResident.bytes(), full.bytes());
                assertArrayEquals(fullResident.logProbs(m, all, 48).toFloatArray(), full.logProbs(m, all, 48).toFloatArray(),
                    fixture + ": full log-probabilities");
                assertArrayEquals(topResident.topIndices(m, all, 48).toLongArray(), top.topIndices(m, all, 48).toLongArray());
                assertArrayEquals(topResident.topLogProbs(m, all, 48).toFloatArray(),
                    top.topLogProbs(m, all, 48).toFloatArray(), fixture + ": top-K log-probabilities");
            }
        }
    }
}
