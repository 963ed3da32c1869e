using System.Threading.Tasks;

namespace Ismld
{
    /// <summary>Fire-and-forget that observes failures (a background task's exception must not surface as unobserved).</summary>
    internal static class Tasks
    {
        public static void Forget(this Task task)
        {
            task.ContinueWith(t => { var ignored = t.Exception; }, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        }
    }
}
