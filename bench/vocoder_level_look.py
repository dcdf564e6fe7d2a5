"""Looked at: one prompt (Allison, vm-tomakecall) vocoded by vocoder-16k from its 16 kHz .g722 and from its 8 kHz
.wav, two seeds, beside the original, and the .wav read at the old level (the mean over all bands): spectrograms and
the level over time. Usage: python bench/vocoder_level_look.py  (writes bench/vocoder_level.png)
"""
import numpy as np, librosa, librosa.display
import matplotlib; matplotlib.use("Agg")
import matplotlib.pyplot as plt
import audiornn, audiornn.vocoder as vc
from audiornn.audio_io import read_audio
base = "/usr/share/asterisk/sounds/en_US_f_Allison/vm-tomakecall"
m = audiornn.load_model("vocoder-16k")
orig = read_audio(base + ".g722")[0][:, 0]
rows = {"original (16 kHz G.722)": orig}
for seed in (0, 1):
    rows[f"vocoded from the .g722, seed {seed}"] = audiornn.vocode(m, base + ".g722", seed=seed, progress=False)[0]
    rows[f"vocoded from the 8 kHz .wav, seed {seed}"] = audiornn.vocode(m, base + ".wav", seed=seed, progress=False)[0]
new = vc.level_shift
vc.level_shift = lambda f, model: float(np.mean(f) - np.mean(np.asarray(model.feature_net.mean, np.float64)))
rows["8 kHz .wav, the old mean level (before)"] = audiornn.vocode(m, base + ".wav", seed=0, progress=False)[0]
vc.level_shift = new
fig, axes = plt.subplots(len(rows), 2, figsize=(14, 2.3 * len(rows)), gridspec_kw={"width_ratios": [3, 1]})
for (name, a), (ax, lv) in zip(rows.items(), axes):
    a = np.asarray(a, np.float64)
    S = librosa.amplitude_to_db(np.abs(librosa.stft(a, n_fft=512, hop_length=128)), ref=1.0)
    librosa.display.specshow(S, sr=16000, hop_length=128, x_axis="time", y_axis="hz", ax=ax, vmin=-80, vmax=20)
    ax.set_title(name, fontsize=9)
    rms = librosa.feature.rms(y=a, frame_length=320, hop_length=320)[0]
    lv.plot(np.arange(rms.size) * 0.02, 20 * np.log10(rms + 1e-6)); lv.set_ylim(-70, 0); lv.set_title("level dB", fontsize=8)
    print(f"{name:<45} peak {np.abs(a).max():.2f}  rms {20*np.log10(np.sqrt(np.mean(a**2))):.1f} dB  at full scale {np.mean(np.abs(a)>=0.999):.2%}")
fig.tight_layout(); fig.savefig("bench/vocoder_level.png", dpi=70)
