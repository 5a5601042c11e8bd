package org.example.scheduler

import java.time.Duration
import java.time.Instant
import java.util.PriorityQueue
import java.util.concurrent.ConcurrentHashMap
import kotlin.math.max

/**
 * A small in-process scheduler: tasks run at a due time, may repeat, and can be cancelled.
 *
 * The scheduler never starts threads of its own. Callers drive it with [tick], passing the
 * current time, which keeps every decision testable without sleeping.
 */
const val DEFAULT_MAX_RETRIES = 3

enum class TaskState {
    PENDING,
    RUNNING,
    DONE,
    FAILED,
    CANCELLED,
}

sealed class Outcome {
    data class Success(val value: String) : Outcome()
    data class Failure(val error: Throwable, val willRetry: Boolean) : Outcome()
    object Skipped : Outcome()
}

data class TaskId(val value: Long) {
    override fun toString(): String = "task-$value"
}

data class Task(
    val id: TaskId,
    val name: String,
    val due: Instant,
    val every: Duration? = null,
    val maxRetries: Int = DEFAULT_MAX_RETRIES,
    val action: () -> String,
) : Comparable<Task> {
    var state: TaskState = TaskState.PENDING
        private set
    var attempts: Int = 0
        private set

    override fun compareTo(other: Task): Int {
        val byDue = due.compareTo(other.due)
        if (byDue != 0) {
            return byDue
        }
        return id.value.compareTo(other.id.value)
    }

    fun markRunning() {
        check(state == TaskState.PENDING) { "$id is $state, not PENDING" }
        state = TaskState.RUNNING
        attempts += 1
    }

    fun finish(outcome: Outcome) {
        state = when (outcome) {
            is Outcome.Success -> TaskState.DONE
            is Outcome.Failure -> if (outcome.willRetry) TaskState.PENDING else TaskState.FAILED
            Outcome.Skipped -> TaskState.CANCELLED
        }
    }

    fun cancel() {
        state = TaskState.CANCELLED
    }
}

interface TaskListener {
    fun onStart(task: Task)
    fun onFinish(task: Task, outcome: Outcome)
}

class Scheduler(
    private val listener: TaskListener? = null,
    private val backoff: Duration = Duration.ofSeconds(5),
) {
    private val queue = PriorityQueue<Task>()
    private val tasks = ConcurrentHashMap<TaskId, Task>()
    private var nextId = 1L

    val size: Int
        get() = tasks.size

    fun schedule(
        name: String,
        due: Instant,
        every: Duration? = null,
        maxRetries: Int = DEFAULT_MAX_RETRIES,
        action: () -> String,
    ): TaskId {
        val id = TaskId(nextId++)
        val task = Task(id, name, due, every, maxRetries, action)
        tasks[id] = task
        queue.add(task)
        return id
    }

    fun cancel(id: TaskId): Boolean {
        val task = tasks.remove(id)
        if (task == null) {
            return false
        }
        task.cancel()
        queue.remove(task)
        return true
    }

    fun tick(now: Instant): List<Pair<TaskId, Outcome>> {
        val results = mutableListOf<Pair<TaskId, Outcome>>()
        while (true) {
            val head = queue.peek() ?: break
            if (head.due.isAfter(now)) {
                break
            }
            queue.poll()
            results += head.id to run(head, now)
        }
        return results
    }

    private fun run(task: Task, now: Instant): Outcome {
        task.markRunning()
        listener?.onStart(task)
        val outcome = try {
            Outcome.Success(task.action())
        } catch (e: Exception) {
            Outcome.Failure(e, willRetry = task.attempts <= task.maxRetries)
        }
        task.finish(outcome)
        listener?.onFinish(task, outcome)
        reschedule(task, outcome, now)
        return outcome
    }

    private fun reschedule(task: Task, outcome: Outcome, now: Instant) {
        val next = when {
            outcome is Outcome.Failure && outcome.willRetry -> now.plus(backoff.multipliedBy(task.attempts.toLong()))
            outcome is Outcome.Success && task.every != null -> now.plus(task.every)
            else -> null
        }
        if (next == null) {
            tasks.remove(task.id)
            return
        }
        val again = task.copy(due = next)
        tasks[task.id] = again
        queue.add(again)
    }

    fun pending(): List<Task> = queue.sorted()

    fun describe(): String {
        val lines = pending().map { "${it.id} ${it.name} due ${it.due} (${it.state})" }
        val width = max(lines.maxOfOrNull { it.length } ?: 0, 10)
        return buildString {
            appendLine("=".repeat(width))
            lines.forEach { appendLine(it) }
            appendLine("=".repeat(width))
        }
    }

    companion object {
        fun withLogging(prefix: String): Scheduler {
            val listener = object : TaskListener {
                override fun onStart(task: Task) {
                    println("$prefix start ${task.name}")
                }

                override fun onFinish(task: Task, outcome: Outcome) {
                    println("$prefix finish ${task.name}: $outcome")
                }
            }
            return Scheduler(listener)
        }
    }
}
