package io.evocompress.train;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    @TempDir
    java.nio.file.Path tmp;

    private static final Trainer.Settings FAST = new Trainer.Settings(1e-3, 0, 0, AdamW.Settings.defaults());

    @Test
    void stepsLowerTheLossOnTheirBatchForStories260k() {
        int[] ids = Arrays.copyOf(ModelFixtures.referenceIds(), 64);
        List<int[]> batch = List.of(ids);
        EngineThreads one = EngineThreads.single();
        try (one;
             CheckpointReader reader = CheckpointReader.open(Fixtures.stories260k().toString());
             CausalLm model = ModelLoader.load(reader, Device.cpu(), DataType.FLOAT32);
             Trainer trainer = new Trainer(model, new NextTokenLoss(), FAST)) {
            double before = GradientCheckTest.loss(model, batch);
            Trainer.StepReport first = trainer.step(batch);
            assertEquals(before, first.loss(), 1e-5, "the step reports the loss before its update");
            double afterOne = GradientCheckTest.loss(model, batch);
            assertTrue(afterOne < before, "one step: " + before + " -> " + afterOne);
            for (int i = 0; i < 4; i++) {
                trainer.step(batch);
            }
            double afterFive = GradientCheckTest.loss(model, batch);
            assertTrue(afterFive < afterOne - 0.05, "five steps: " + afterOne + " -> " + afterFive);
            assertEquals(5, trainer.steps());
        }
    }

    @Test
    void stepsLowerTheLossOnATinyRandomModelWithClipping() {
        List<int[]> batch = TinyModels.randomBatch(2, 16, TinyModels.VOCAB, 1);
        Trainer.Settings clipped = new Trainer.Settings(1e-2, 3, 0.5, AdamW.Settings.defaults());
        try (CausalLm model = TinyModels.load(TinyModels.write(tmp, 1));
             Trainer trainer = new Trainer(model, new NextTokenLoss(), clipped)) {
            double before = GradientCheckTest.loss(model, batch);
            assertEquals(Math.log(TinyModels.VOCAB), before, 0.05, "random init predicts about uniformly");
            Trainer.StepReport r = null;
            for (int i = 0; i < 10; i++) {
                r = trainer.step(batch);
                assertTrue(r.gradNorm() > 0, "clipping computes the norm");
            }
            assertEquals(1e-2, r.learningRate(), 1e-12, "after warm-up the full rate");
            assertEquals(1e-2 / 3, trainer.learningRate(0), 1e-12);
            double after = GradientCheckTest.loss(model, batch);
            assertTrue(after < before - 0.5, before + " -> " + after);
        }
    }

    @Test
    void distillationMovesTheStudentTowardsTheTeacherAndNeverChangesTheTeacher() {
        Path teacherDir = TinyModels.write(tmp, 11);
        List<int[]> batch = TinyModels.randomBatch(2, 16, TinyModels.VOCAB, 2);
        try (CausalLm teacher = TinyModels.load(teacherDir);
             CausalLm student = TinyModels.load(TinyModels.write(tmp, 12))) {
            // a teacher with sharper predictions than the random student
            teacher.parameters().values().stream().filter(p -> p.getShape().dimension() == 2).forEach(p -> p.muli(8f));
            Map<String, float[]> teacherBefore = TinyModels.snapshot(teacher);
            Map<String, float[]> studentBefore = TinyModels.snapshot(student);
            DistillationLoss kd = new DistillationLoss(teacher);
            double first;
            double last;
            try (Trainer trainer = new Trainer(student, kd, FAST)) {
                first = trainer.step(batch).loss();
                for (int i = 0; i < 8; i++) {
                    trainer.step(batch);
                }
                last = trainer.step(batch).loss();
            }
            assertTrue(first > 0.1, "KL from a different model is positive: " + first);
            assertTrue(last < 0.8 * first, "KL " + first + " -> " + last);
            Map<String, float[]> teacherAfter = TinyModels.snapshot(teacher);
            teacherBefore.forEach((name, v) -> assertArrayEquals(v, teacherAfter.get(name), 0f, name + " of the teacher"));
            assertFalse(teacher.parameters().values().iterator().next().hasGradient(), "teacher records no gradients");
            assertFalse(Arrays.equals(studentBefore.get("model.layers.0.self_attn.q_proj.weight"),
                TinyModels.snapshot(student).get("model.layers.0.self_attn.q_proj.weight")), "student trained");
        }
    }

    @Test
    void resumingFromSavedStateEqualsUninterruptedTraining() {
        EngineThreads one = EngineThreads.single();
        try (one) {
            resumeEqualsUninterrupted();
        }
    }

    private void resumeEqualsUninterrupted() {
        Path init = TinyModels.write(tmp, 21);
        int[] stream = TinyModels.randomBatch(1, 400, TinyModels.VOCAB, 3).get(0);
        TokenBatches data = new TokenBatches(stream, 16, 2, 99);
        Trainer.Settings recipe = new Trainer.Settings(3e-3, 2, 1.0, AdamW.Settings.defaults());
        Map<String, float[]> uninterrupted;
        try (CausalLm model = TinyModels.load(init); Trainer trainer = new Trainer(model, new NextTokenLoss(), recipe)) {
            trainer.run(data, 6, null, null);
            uninterrupted = TinyModels.snapshot(model);
        }
        Path state = HadoopFiles.path(tmp.resolve("state").toString());
        FileSystem fs = HadoopFiles.fileSystem(state, HadoopFiles.defaultConf());
        try (CausalLm model = TinyModels.load(init);
             Trainer trainer = new Trainer(model, new NextTokenLoss(), recipe)) {
            trainer.run(data, 3, null, null);
            trainer.saveState(fs, state, false, TinyModels.configJson());
        }
        Map<String, float[]> resumed;
        try (CausalLm model = TinyModels.load(TrainingState.modelDir(state));
             Trainer trainer = new Trainer(model, new NextTokenLoss(), recipe)) {
            TrainingState.Saved saved = TrainingState.read(fs, state);
            assertEquals(3, saved.step());
            assertEquals(model.parameters().keySet(), saved.firstMoments().keySet());
            trainer.restore(saved);
            Trainer.RunSummary rest = trainer.run(data, 6, null, null);
            assertEquals(3, rest.steps(), "continues from step 3 to 6");
            resumed = TinyModels.snapshot(model);
        }
        uninterrupted.forEach((name, v) -> assertArrayEquals(v, resumed.get(name), 1e-6f, name));
        // and the resumed weights really moved from the saved ones
        try (CausalLm saved = TinyModels.load(TrainingState.modelDir(state))) {
            assertFalse(Arrays.equals(TinyModels.snapshot(saved).get("model.norm.weight"), resumed.get("model.norm.weight")));
        }
    }
}
