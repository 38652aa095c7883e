using System.Reflection;
using Forge.Tests.Shared;
using Xunit.Sdk;

namespace Forge.Tests.Shared
{
/// <summary>This project runs the storage conformance suite on the in-memory storage ("memory").</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LocalStudyBackendAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [["memory"]];
}

/// <summary>No server backend here: the SQL runs of the suite live in tests/Forge.Tracking.Tests.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServerStudyBackendAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [];
}

}

namespace Forge.Tuning.Tests
{
public sealed class InMemoryStorageTests : StudyStorageConformance
{
    protected override IStorageLease Create(string backend)
    {
        var clock = new ManualClock();
        return new Lease(new InMemoryStudyStorage(clock), clock);
    }

    private sealed class Lease(IStudyStorage storage, ManualClock clock) : IStorageLease
    {
        public IStudyStorage Storage => storage;

        public IStudyStorage OpenAnother() => storage;

        public void Wait(TimeSpan time) => clock.Advance(time);

        public void Dispose() => storage.Dispose();
    }
}

/// <summary>A clock that moves only when told (the real clock's ticks still order events within one step).</summary>
internal sealed class ManualClock : TimeProvider
{
    private TimeSpan _offset;

    public void Advance(TimeSpan time) => _offset += time;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + _offset;
}
}
