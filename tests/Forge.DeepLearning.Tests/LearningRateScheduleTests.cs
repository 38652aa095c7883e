namespace Forge.DeepLearning.Tests;

public sealed class LearningRateScheduleTests
{
    private const double Lr = 0.01;
    private const long StepsPerEpoch = 100;
    private const int Epochs = 4;
    private const long Total = StepsPerEpoch * Epochs;

    private static LearningRateSchedule Schedule(LearningRateScheduleKind name, int stepEpochs = 1, double gamma = 0.7, int patience = 1) =>
        new(new TrainerOptions { LearningRate = Lr, Epochs = Epochs, Schedule = name, StepEpochs = stepEpochs, Gamma = gamma, PlateauPatience = patience }, StepsPerEpoch);

    private static void Near(double expected, double actual, double relative = 1e-12) =>
        Assert.InRange(actual - expected, -relative * Math.Abs(expected), relative * Math.Abs(expected));

    [Fact]
    public void Onecycle_warms_up_from_a_25th_to_the_peak_at_a_quarter_then_anneals_to_a_ten_thousandth()
    {
        var s = Schedule(LearningRateScheduleKind.OneCycle);

        Near(Lr / 25, s.At(0, 0));
        Near(Lr, s.At(Total / 4, 1));
        Near(Lr / 1e4, s.At(Total, Epochs - 1));
        // The last step taken is one short of the end of the cosine: within a ten-thousandth of the peak above the floor.
        Assert.InRange(s.At(Total - 1, Epochs - 1), Lr / 1e4, 2 * Lr / 1e4);
        // Halfway down the cosine the rate is halfway between peak and floor.
        Near((Lr + Lr / 1e4) / 2, s.At(Total / 4 + (Total - Total / 4) / 2, 2));

        for (long step = 1; step < Total; step++)
        {
            var (before, now) = (s.At(step - 1, 0), s.At(step, 0));
            if (step <= Total / 4) Assert.True(now > before, $"warm-up should rise at step {step}");
            else Assert.True(now < before, $"annealing should fall at step {step}");
        }
    }

    [Fact]
    public void Step_decays_by_gamma_every_step_epochs()
    {
        var s = Schedule(LearningRateScheduleKind.Step, stepEpochs: 2, gamma: 0.5);

        double[] expected = [Lr, Lr, Lr / 2, Lr / 2, Lr / 4];
        for (var epoch = 0; epoch < expected.Length; epoch++) Near(expected[epoch], s.At(epoch * StepsPerEpoch, epoch));
        // Within an epoch the rate does not move.
        Near(Lr / 2, s.At(3 * StepsPerEpoch - 1, 2));
    }

    [Fact]
    public void Cosine_falls_from_the_rate_to_zero_over_all_steps()
    {
        var s = Schedule(LearningRateScheduleKind.Cosine);

        Near(Lr, s.At(0, 0));
        Near(Lr / 2, s.At(Total / 2, 2));
        Near(Lr * 0.5 * (1 + Math.Cos(Math.PI / 4)), s.At(Total / 4, 1));
        Assert.InRange(s.At(Total, Epochs - 1), 0, 1e-18);
    }

    [Fact]
    public void None_keeps_the_rate()
    {
        var s = Schedule(LearningRateScheduleKind.None);
        Assert.Equal(Lr, s.At(0, 0));
        Assert.Equal(Lr, s.At(Total - 1, Epochs - 1));
    }

    [Fact]
    public void Plateau_decays_once_more_than_patience_epochs_pass_without_improvement()
    {
        var s = Schedule(LearningRateScheduleKind.Plateau, gamma: 0.5, patience: 1);

        s.EndEpoch(0.90);
        Assert.Equal(Lr, s.At(0, 0));
        s.EndEpoch(0.90);
        Assert.Equal(Lr, s.At(0, 1));
        // An improvement smaller than 1e-4 counts as none: the second epoch without one exceeds the patience of 1.
        s.EndEpoch(0.90005);
        Near(Lr / 2, s.At(0, 2));
        Assert.Equal(0, s.PlateauWait);

        s.EndEpoch(0.95);
        Assert.Equal(0.95, s.PlateauBest);
        s.EndEpoch(0.94);
        Near(Lr / 2, s.At(0, 4));
        s.EndEpoch(0.94);
        Near(Lr / 4, s.At(0, 5));
    }

    [Fact]
    public void Plateau_ignores_epochs_without_validation()
    {
        var s = Schedule(LearningRateScheduleKind.Plateau, gamma: 0.5, patience: 0);
        for (var i = 0; i < 5; i++) s.EndEpoch(null);
        Assert.Equal(Lr, s.At(0, 5));
    }

    [Fact]
    public void Other_schedules_do_not_react_to_validation()
    {
        var s = Schedule(LearningRateScheduleKind.Step, gamma: 0.5, patience: 0);
        for (var i = 0; i < 5; i++) s.EndEpoch(0.5);
        Assert.Equal(Lr, s.At(0, 0));
        Assert.Equal(Lr, s.PlateauRate);
    }
}
