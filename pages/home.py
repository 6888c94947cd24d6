import streamlit as st

st.title("CNN Lab")
st.markdown(
    "How does a convolutional network see? Every page here runs a real PyTorch net on real "
    "data — poke it and watch what changes. Pick a page on the left; the sidebar says which "
    "trained model each page uses and on what hardware it runs."
)

st.subheader("Start")
st.page_link("pages/draw_digit.py", label="Draw a digit", icon=":material/draw:")
st.markdown(
    "Draw a digit and the course's GAP MNIST net (under 10,000 parameters, no fully connected "
    "layer) classifies it as you draw. See the 28×28 picture the net really receives, and how "
    "sure it is of each class."
)
st.page_link("pages/softmax.py", label="Softmax vs log-softmax", icon=":material/bar_chart:")
st.markdown(
    "Turn the net's raw scores into confidences. Edit the scores, change the temperature, and "
    "see why training minimises the negative log-likelihood and why log-softmax is computed "
    "with the log-sum-exp trick."
)
