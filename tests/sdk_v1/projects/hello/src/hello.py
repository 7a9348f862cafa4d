# The tutorial's hello.py.
print("Hello world!")
