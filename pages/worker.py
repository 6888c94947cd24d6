import streamlit as st

from models.jobs import worker
from ui import teacher
from ui.jobs import owner_label
from ui.catalogue import training_device
from ui.projector import teaching

st.title("The training worker")
teaching(
    "Every training run in CNN Lab — from any page, any browser — goes through one worker that "
    "runs one job at a time, so the GPU is never split between two trainings and everyone else's "
    "pages keep answering. Here is what it is doing.",
    "One worker runs every training job, one at a time.",
)


@st.fragment(run_every=2.0)
def panel() -> None:
    import torch

    control = teacher.is_teacher()
    me = owner_label()

    def who(owner: str) -> str:
        return f"{owner}, you" if owner == me else owner

    st.markdown(f"**Device:** {training_device()}")
    if torch.cuda.is_available():
        st.caption(f"GPU memory in use by PyTorch: {torch.cuda.memory_allocated() / 2**20:,.0f} MiB "
                   f"(reserved {torch.cuda.memory_reserved() / 2**20:,.0f} MiB)")
    running = worker().running
    if running is None:
        st.info("Nothing is training right now.")
    else:
        snapshot = running.snapshot()
        fraction = snapshot["progress"].get("fraction", 0.0)
        eta = snapshot["seconds"] / fraction * (1 - fraction) if fraction > 0 else None
        st.progress(min(1.0, fraction), text=f"Running: {snapshot['name']} (started by {who(snapshot['owner'])}) · "
                    f"{snapshot['seconds']:.0f} s" + (f", about {eta:.0f} s to go" if eta is not None else ""))
        if control and st.button("Stop the running job", key="teacher_stop_running", icon=":material/stop:"):
            worker().stop(running.id)
    queued = worker().queued()
    st.markdown(f"**Queue:** {len(queued)} waiting" if queued else "**Queue:** empty")
    for position, job in enumerate(queued, start=1):
        columns = st.columns([6, 1, 1])
        columns[0].write(f"{position}. {job.name} (started by {who(job.owner)})")
        if control and position > 1 and columns[1].button("Move up", key=f"teacher_up_{job.id}"):
            worker().move_up(job.id)
        if control and columns[2].button("Remove", key=f"teacher_remove_{job.id}"):
            worker().stop(job.id)
    if not control:
        st.caption("Stopping and reordering jobs are for the teacher (unlock in the sidebar).")


panel()
