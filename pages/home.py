import streamlit as st

from models import data
from ui import join, teacher
from ui import catalogue
from ui.navigation import SECTIONS
from ui.catalogue import ROOT
from ui.projector import presenting, teaching

st.title("CNN Lab")
teaching(
    "How does a convolutional network see? Every page here runs a real PyTorch net on real "
    "data — poke it and watch what changes. The sidebar says which trained model the pages use "
    "(you can switch) and where training runs.",
    "How does a convolutional network see?",
)

# --- What this class can do now, and what a teacher may add ----------------------------------------
entries = catalogue.catalogue()[0]
models_here = {title: sum(e.dataset == dataset for e in entries) for dataset, title in catalogue.DATASET_TITLES.items()}
full = {name: data.full_data_present(name) for name in ("mnist", "cifar10")}
models_text = ", ".join(f"{n} {title} model{'s' if n != 1 else ''}" for title, n in models_here.items())
status, code = st.columns([3, 1], gap="large")
with status:
    st.markdown(
        f"**Ready now:** {models_text}; "
        + ("the full MNIST and CIFAR-10 sets are here, so every page can train."
           if all(full.values()) else
           "pages show and probe images from "
           + " and ".join(("the full " if full[n] else "the shipped 1,000-image sample of the ") + data.TITLES[n]
                          + " test set" for n in full) + "."))
    missing = [data.TITLES[n] for n, present in full.items() if not present]
    todo = []
    if missing:
        todo.append(f"To train in class, add the full {' and '.join(missing)} data: `python -m models.data --download` "
                    f"on a machine with internet fills `{data.data_root()}` (or set `CNN_LAB_DATA` to a folder that has "
                    "them).")
    if teacher.configured_key() is None:
        todo.append("Anyone here may start training and save nets. To keep that to the teacher, start the app with a "
                    "teacher key: `CNN_LAB_TEACHER_KEY=<a long secret> streamlit run app.py`.")
    if todo:
        st.markdown("**For the teacher:** " + " ".join(todo))
with code:
    url = join.class_url()
    st.markdown(f"**Students open** `{url}`")
    join.show_qr(url, 420 if presenting() else 200, "join_qr_page")

for section, pages in SECTIONS.items():
    st.subheader(section)
    for page in pages:
        if page.url_path:
            st.page_link(str(ROOT / page.file), label=page.title, icon=page.icon)
            st.markdown(page.summary)
